// One replication connection. pg-logical-replication carries the connection and its lifecycle
// (connect with replication=database, START_REPLICATION through our plugin object, the 'start'
// and 'error' events, stop); the per-message path and the acknowledgements are ours.
//
// Measured on pg-logical-replication 2.5.0, and why each default is replaced:
// - it acknowledges every message as it is received (one socket write each, and on receipt, not
//   once durable), and a 10-second timer acknowledges the last position *received*, keepalives
//   included: both would move the slot past events that are not durable yet. Both are off; this
//   module acknowledges only `safeLsn()`, the position the task knows durable, also in answers
//   to keepalives;
// - its copyData listener formats an "X/Y" LSN string, allocates a Buffer view, an EventEmitter2
//   event and a promise per message (about 0.6 µs of a 2–4 µs budget per change). The plugin's
//   `start` swaps that listener for one that decodes the CopyData chunk in place.

import type { EventEmitter } from 'node:events';
import pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import {
  decodePgoutput,
  formatLsn,
  pgEpochMicros,
  readLsn,
  type PgoutputMessage,
} from './pgoutput-decoder.ts';
import type { PostgresSourceConfig } from './config.ts';
import { clientConfig, errorContext, quoteIdent } from './connection.ts';
import { classifyPostgresError } from './errors.ts';

/** The bits of pg's Connection the stream uses (not in @types/pg). */
type WireConnection = EventEmitter & {
  stream: { pause(): void; resume(): void };
  sendCopyFromChunk(chunk: Buffer): void;
};

/** pg's CopyData message: `chunk` is the payload (XLogData 'w' or keepalive 'k'). */
interface CopyDataMessage {
  chunk: Buffer;
}

/**
 * The output plugin object pg-logical-replication drives: `start` issues START_REPLICATION with
 * our options and, when `onCopyData` is set, takes the CopyData messages of the connection;
 * `parse` (the library's path, unused then) decodes one payload with our decoder.
 */
export class PgoutputStreamPlugin {
  readonly options: { publicationName: string };
  connection: WireConnection | undefined;
  /** Receives every CopyData chunk of the replication connection, in order. */
  onCopyData: ((chunk: Buffer) => void) | undefined;

  constructor(publicationName: string) {
    this.options = { publicationName };
  }

  get name(): string {
    return 'pgoutput';
  }

  start(client: pg.Client, slotName: string, lastLsn: string): Promise<unknown> {
    const connection = (client as unknown as { connection: WireConnection }).connection;
    this.connection = connection;
    const onCopyData = this.onCopyData;
    if (onCopyData) {
      // The library registered its listener just before calling start; pg's own one is a no-op
      // for a query without a copy stream.
      connection.removeAllListeners('copyData');
      connection.on('copyData', (message: CopyDataMessage) => onCopyData(message.chunk));
    }
    // publication_names is a list of identifiers: quote it like one.
    const publication = quoteIdent(this.options.publicationName).replace(/'/g, "''");
    return client.query(
      `START_REPLICATION SLOT ${quoteIdent(slotName)} LOGICAL ${lastLsn} ` +
        `(proto_version '1', publication_names '${publication}', messages 'true')`,
    );
  }

  parse(payload: Buffer): PgoutputMessage {
    return decodePgoutput(payload);
  }
}

export interface StreamHandlers {
  /** Called synchronously for each message, in stream order. */
  message(message: PgoutputMessage, walLsn: number): void;
  /** A keepalive from the server with its current WAL end. */
  keepalive(walEnd: number): void;
  /** The stream failed after it started (classified). Called at most once per stream. */
  failed(error: Error): void;
  /** The highest LSN that is durable downstream: the only position ever acknowledged. */
  safeLsn(): number;
}

/** Standby status update ('r'): written, flushed and applied positions, clock, no reply wanted. */
export function standbyStatusUpdate(lsn: number, nowUs: number): Buffer {
  const message = Buffer.alloc(34);
  message[0] = 0x72;
  const hi = Math.floor(lsn / 4294967296);
  const lo = lsn - hi * 4294967296;
  for (const offset of [1, 9, 17]) {
    message.writeUInt32BE(hi, offset);
    message.writeUInt32BE(lo, offset + 4);
  }
  const pgMicros = nowUs - pgEpochMicros;
  const timeHi = Math.floor(pgMicros / 4294967296);
  message.writeUInt32BE(timeHi, 25);
  message.writeUInt32BE(pgMicros - timeHi * 4294967296, 29);
  message[33] = 0;
  return message;
}

const stopTimeoutMs = 5000;

/** One replication connection streaming one slot. */
export class ReplicationStream {
  private readonly service: LogicalReplicationService;
  private readonly plugin: PgoutputStreamPlugin;
  private statusTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private paused = false;

  constructor(
    private readonly config: PostgresSourceConfig,
    private readonly handlers: StreamHandlers,
  ) {
    this.plugin = new PgoutputStreamPlugin(config.publicationName);
    this.service = new LogicalReplicationService(clientConfig(config, 'stream'), {
      // Never acknowledge on receipt, never on a timer: see the module comment.
      acknowledge: { auto: false, timeoutSeconds: 0 },
    });
  }

  /** Resolves once the server streams; rejects (classified) when START_REPLICATION fails. */
  start(slotName: string, startLsn: number): Promise<void> {
    const handlers = this.handlers;
    this.plugin.onCopyData = (chunk) => {
      if (this.ended) return;
      try {
        if (chunk[0] === 0x77) {
          // XLogData: 'w', WAL start, WAL end, send time, then the pgoutput message.
          handlers.message(decodePgoutput(chunk, 25), readLsn(chunk, 1));
        } else if (chunk[0] === 0x6b) {
          // Primary keepalive: 'k', WAL end, send time, reply requested.
          handlers.keepalive(readLsn(chunk, 1));
          if (chunk[17] === 1) this.sendStatus();
        }
      } catch (error) {
        this.ended = true;
        this.clearTimer();
        handlers.failed(classifyPostgresError(error, errorContext(this.config)));
      }
    };
    return new Promise((resolve, reject) => {
      let started = false;
      const fail = (error: unknown) => {
        if (this.ended) return;
        const classified = classifyPostgresError(error, errorContext(this.config));
        if (!started) {
          this.ended = true;
          void this.stop().finally(() => reject(classified));
        } else {
          this.ended = true;
          this.clearTimer();
          handlers.failed(classified);
        }
      };
      this.service.on('start', () => {
        started = true;
        this.statusTimer = setInterval(() => this.sendStatus(), this.config.statusUpdateIntervalMs);
        this.statusTimer.unref();
        resolve();
      });
      this.service.on('error', fail);
      this.service
        .subscribe(this.plugin as never, slotName, formatLsn(startLsn))
        .then(
          () => fail(new Error('Connection terminated: the server ended the replication stream')),
          fail,
        );
    });
  }

  /** Report the durable position to the server (status update, also the keepalive answer). */
  sendStatus(): void {
    const connection = this.plugin.connection;
    if (this.ended || !connection) return;
    // INVARIANT (at-least-once): the only position ever sent to the server is safeLsn(), built
    // solely from records the runtime reported durable through SourceTask.commit() — never a
    // received or keepalive position while records before it are in flight — so the slot's
    // confirmed_flush_lsn never passes an event that a crash could still lose. Guarded by
    // test/crash/postgres-kill.test.ts and test/integration/postgres/offsets.test.ts.
    const lsn = this.handlers.safeLsn();
    if (lsn <= 0) return;
    connection.sendCopyFromChunk(standbyStatusUpdate(lsn, Date.now() * 1000));
  }

  /** Stop reading the socket (the server blocks once the kernel buffers fill). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.plugin.connection?.stream.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.plugin.connection?.stream.resume();
  }

  private clearTimer(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
  }

  /** Acknowledge the durable position one last time, then close the connection. */
  async stop(): Promise<void> {
    this.clearTimer();
    if (!this.ended) {
      try {
        this.sendStatus();
      } catch {
        // the connection is already gone
      }
    }
    this.ended = true;
    // A paused socket never sees the server's goodbye: read (and ignore) what is left.
    if (this.paused) {
      this.paused = false;
      this.plugin.connection?.stream.resume();
    }
    // Closing a connection to a server that went away can take until TCP gives up: bounded.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.service.destroy().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
