// PostgreSQL driver errors → KafkiError with a stable code, whether a retry can help, and a
// message that names the object at fault and the remedy. Classification looks at SQLSTATE first,
// the message text only where PostgreSQL uses one SQLSTATE for several causes.

import { KafkiError, RetriableError } from '../../runtime/api/index.ts';

export const PostgresErrorCode = {
  unreachable: 'POSTGRES_UNREACHABLE',
  connectionLost: 'POSTGRES_CONNECTION_LOST',
  authentication: 'POSTGRES_AUTHENTICATION_FAILED',
  databaseMissing: 'POSTGRES_DATABASE_NOT_FOUND',
  walLevel: 'POSTGRES_WAL_LEVEL_NOT_LOGICAL',
  replicationPrivilege: 'POSTGRES_REPLICATION_PRIVILEGE_MISSING',
  privilege: 'POSTGRES_INSUFFICIENT_PRIVILEGE',
  slotInUse: 'POSTGRES_SLOT_IN_USE',
  slotMissing: 'POSTGRES_SLOT_MISSING',
  slotsExhausted: 'POSTGRES_REPLICATION_SLOTS_EXHAUSTED',
  walSendersExhausted: 'POSTGRES_WAL_SENDERS_EXHAUSTED',
  publicationMissing: 'POSTGRES_PUBLICATION_MISSING',
  protocol: 'POSTGRES_PROTOCOL_ERROR',
  signalInvalid: 'POSTGRES_SIGNAL_INVALID',
  notStreaming: 'POSTGRES_NOT_STREAMING',
  config: 'POSTGRES_CONFIG_INVALID',
  other: 'POSTGRES_ERROR',
} as const;

export interface ErrorContext {
  host: string;
  port: number;
  database: string;
  user: string;
  slotName?: string;
  publicationName?: string;
}

interface DriverError {
  code?: string;
  message?: string;
  errno?: number;
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // Unix socket path missing while the server restarts
]);

function where(context: ErrorContext): string {
  return `${context.host}:${context.port}/${context.database}`;
}

/** Turn anything the pg driver or the replication library threw into a KafkiError. */
export function classifyPostgresError(error: unknown, context: ErrorContext): KafkiError {
  if (error instanceof KafkiError) return error;
  const driver = (error ?? {}) as DriverError;
  const code = driver.code ?? '';
  const message = driver.message ?? String(error);
  const server = where(context);

  if (networkCodes.has(code) || /timeout expired|timed out/i.test(message)) {
    return new RetriableError(
      PostgresErrorCode.unreachable,
      `cannot reach PostgreSQL at ${server} (${code || message}); check database.hostname/database.port and that the server is running`,
      error,
    );
  }
  if (
    /Connection terminated|terminating connection|server closed the connection|Client has encountered a connection error/i.test(
      message,
    ) &&
    !code.startsWith('28')
  ) {
    return new RetriableError(
      PostgresErrorCode.connectionLost,
      `lost the connection to PostgreSQL at ${server}: ${message}`,
      error,
    );
  }
  switch (code) {
    case '28P01':
    case '28000':
      return new KafkiError(
        PostgresErrorCode.authentication,
        `PostgreSQL at ${server} rejected user "${context.user}": ${message}. Check database.user and database.password (and pg_hba.conf)`,
        { cause: error },
      );
    case '3D000':
      return new KafkiError(
        PostgresErrorCode.databaseMissing,
        `database "${context.database}" does not exist on ${context.host}:${context.port}; check database.dbname`,
        { cause: error },
      );
    case '42501':
      if (/replication|walsender/i.test(message)) {
        return new KafkiError(
          PostgresErrorCode.replicationPrivilege,
          `user "${context.user}" may not use replication on ${server}: ${message}. Grant it with: ALTER ROLE "${context.user}" WITH REPLICATION`,
          { cause: error },
        );
      }
      return new KafkiError(
        PostgresErrorCode.privilege,
        `user "${context.user}" lacks a privilege on ${server}: ${message}`,
        { cause: error },
      );
    case '55000':
      if (/wal_level/i.test(message)) {
        return new KafkiError(
          PostgresErrorCode.walLevel,
          `${message} on ${server}. Set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL`,
          { cause: error },
        );
      }
      break;
    case '55006':
      return new KafkiError(
        PostgresErrorCode.slotInUse,
        `replication slot "${context.slotName ?? '?'}" on ${server} is in use by another consumer (${message}). Stop the other consumer, or give this connector its own slot.name`,
        { cause: error },
      );
    case '42704':
      if (/publication/i.test(message)) {
        return new KafkiError(
          PostgresErrorCode.publicationMissing,
          `${message} on ${server}. Create it (CREATE PUBLICATION "${context.publicationName ?? '?'}" FOR ...) or set publication.autocreate.mode to all_tables or filtered`,
          { cause: error },
        );
      }
      if (/replication slot/i.test(message)) {
        return new KafkiError(
          PostgresErrorCode.slotMissing,
          `${message} on ${server}: the slot was dropped while the connector used it; changes since its last acknowledged position may be lost. Restart the connector to create a new slot (and re-snapshot if needed)`,
          { cause: error },
        );
      }
      break;
    case '53400':
      return new KafkiError(
        PostgresErrorCode.slotsExhausted,
        `${message} on ${server}. Drop unused slots (pg_replication_slots) or raise max_replication_slots`,
        { cause: error },
      );
    case '53300':
      if (/wal sender/i.test(message)) {
        return new KafkiError(
          PostgresErrorCode.walSendersExhausted,
          `${message} on ${server}. Raise max_wal_senders or stop unused replication clients`,
          { cause: error },
        );
      }
      return new RetriableError(PostgresErrorCode.unreachable, `${message} on ${server}`, error);
    case '57P01':
    case '57P02':
    case '57P03':
    case '40001':
    case '40P01':
      return new RetriableError(PostgresErrorCode.connectionLost, `${message} on ${server}`, error);
  }
  if (code.startsWith('08')) {
    return new RetriableError(PostgresErrorCode.connectionLost, `${message} on ${server}`, error);
  }
  return new KafkiError(
    PostgresErrorCode.other,
    `PostgreSQL error on ${server}: ${message}${code ? ` (SQLSTATE ${code})` : ''}`,
    {
      cause: error,
    },
  );
}
