// The logging surface handed to connectors (a pino logger satisfies it). Child loggers carry the
// connector and task ids, so connector code never formats them into messages itself.

export interface LogFn {
  (message: string): void;
  (context: object, message?: string): void;
}

export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}
