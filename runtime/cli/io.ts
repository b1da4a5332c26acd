// Where the CLI writes, so tests can capture it.

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Exit codes: 0 ok, 1 the operation failed (server error, unreachable), 2 usage or not available. */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;
