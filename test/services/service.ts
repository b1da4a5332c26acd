// The contract every test service implements, so `services:up|down|status` treat them alike.

export interface ServiceStatus {
  name: string;
  address: string;
  up: boolean;
  version?: string;
  detail?: string;
}

export interface TestService {
  readonly name: string;
  /** Address users and tests connect to (URL or host:port). */
  address(): string;
  /** A real health check: a query, a request or a protocol round trip. Never a sleep. */
  status(): Promise<ServiceStatus>;
  /** Install what up() needs (jars, config files). Runs one service at a time: Maven's cache is shared. */
  prepare?(): Promise<void>;
  /**
   * Bring the service up and configured, idempotently: reuse one that is already healthy,
   * reconfigure it if a setting is missing, start it if it is down. Throws ServiceStartError.
   */
  up(): Promise<void>;
  /** Stop what this harness started; leaves services the machine runs by itself alone. */
  down(): Promise<void>;
}

export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    message: string,
    readonly logTail?: string,
  ) {
    super(
      `${service}: ${message}` +
        (logTail ? `\n--- last lines of the ${service} log ---\n${logTail}` : ''),
    );
    this.name = 'ServiceStartError';
  }
}
