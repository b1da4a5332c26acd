// COPY … TO STDOUT on a pg Client, row by row, with backpressure.
//
// pg has no COPY OUT support of its own (pg-copy-streams adds a Node stream per query); this is a
// submittable query object, the interface pg's Client drives for custom queries. The server sends
// one CopyData message per row; `onRow` gets its payload (the row's text-format bytes and the
// newline) synchronously, as a view into pg's read buffer that is only valid during the call.
// When `onRow` answers false the socket is paused until `waitForRoom` resolves, so a slow consumer
// holds the rows in the server and the kernel, not in this process.

import type { EventEmitter } from 'node:events';
import type pg from 'pg';

/** The parts of pg's Connection a submittable uses (not in @types/pg). */
interface WireConnection extends EventEmitter {
  stream: { pause(): void; resume(): void };
  query(text: string): void;
  sendCopyFail(message: string): void;
}

export interface CopyOutHandlers {
  /** One row (text format, newline included). Return false to pause until `waitForRoom`. */
  onRow(data: Buffer): boolean;
  /** Resolves when rows may flow again. */
  waitForRoom(): Promise<void>;
}

class CopyOutQuery {
  readonly text: string;
  private connection: WireConnection | undefined;
  private failure: Error | undefined;
  private settled = false;
  private paused = false;
  rows = 0;
  readonly done: Promise<number>;
  private resolveDone!: (rows: number) => void;
  private rejectDone!: (error: Error) => void;

  constructor(
    text: string,
    private readonly handlers: CopyOutHandlers,
  ) {
    this.text = text;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
  }

  submit(connection: WireConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    if (this.failure) return;
    this.rows++;
    let more: boolean;
    try {
      more = this.handlers.onRow(message.chunk);
    } catch (error) {
      // Keep reading to the end of the COPY (the connection stays usable), report at the end.
      this.failure = error as Error;
      return;
    }
    if (!more && !this.paused) {
      this.paused = true;
      this.connection?.stream.pause();
      void this.handlers.waitForRoom().then(() => {
        this.paused = false;
        this.connection?.stream.resume();
      });
    }
  }

  handleCopyInResponse(connection: WireConnection): void {
    connection.sendCopyFail('kafki reads with COPY TO only');
  }

  handleError(error: Error): void {
    this.settle(error);
  }

  handleReadyForQuery(): void {
    this.settle(this.failure);
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  private settle(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    if (this.paused) {
      this.paused = false;
      this.connection?.stream.resume();
    }
    if (error) this.rejectDone(error);
    else this.resolveDone(this.rows);
  }
}

/** Run `COPY (<select>) TO STDOUT` (text format); resolves with the row count. */
export function copyOut(
  client: pg.Client,
  select: string,
  handlers: CopyOutHandlers,
): Promise<number> {
  const query = new CopyOutQuery(`COPY (${select}) TO STDOUT`, handlers);
  (client as unknown as { query(query: CopyOutQuery): void }).query(query);
  return query.done;
}
