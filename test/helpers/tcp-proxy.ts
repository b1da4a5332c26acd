// A TCP proxy in front of a real service (Elasticsearch, Redis), so that one test can cut or slow
// the service down for its own client without touching the shared service other tests use.

import { createServer, Socket, type Server } from 'node:net';
import { hostPort } from '../services/addresses.ts';

/**
 * Forwards TCP connections to `target`. down() destroys every open connection and resets each new
 * one at once (the client sees ECONNRESET / "socket hang up"), until up(). stall() forwards
 * nothing either way but keeps the connections open (a partition that drops packets: the client
 * gets neither answers nor an error), until up(). delayReplies(ms) holds every byte the service
 * sends back for `ms` before passing it on (a slow service), until delayReplies(0).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private isUp = true;
  private stalled = false;
  private readonly held: Array<() => void> = [];
  private replyDelayMs = 0;
  refused = 0;

  constructor(private readonly target: string) {
    this.server = createServer((client) => {
      if (!this.isUp) {
        this.refused++;
        client.resetAndDestroy();
        return;
      }
      const { host, port } = hostPort(this.target);
      const upstream = new Socket();
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(port, host, () => {
        client.on('data', (chunk: Buffer) => this.forward(upstream, chunk, 0));
        upstream.on('data', (chunk: Buffer) => this.forward(client, chunk, this.replyDelayMs));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolveListen) =>
      this.server.listen(0, '127.0.0.1', () => resolveListen()),
    );
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy address');
    return `http://127.0.0.1:${address.port}`;
  }

  private forward(to: Socket, chunk: Buffer, delayMs: number): void {
    const send = () => {
      if (to.writable) to.write(chunk);
    };
    if (this.stalled) this.held.push(send);
    // Timers of equal delay fire in the order they were set: the bytes keep their order.
    else if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  }

  stall(): void {
    this.stalled = true;
  }

  down(): void {
    this.cutAll(true);
  }

  private cutAll(reset: boolean): void {
    this.isUp = false;
    for (const socket of this.sockets) {
      // resetAndDestroy() on a socket that is already closing leaves its handle open for ever (and
      // Node 20 then spins at exit): such a socket is only destroyed.
      const closing = socket.readableEnded || socket.writableEnded || socket.destroyed;
      if (reset && !closing) socket.resetAndDestroy();
      else socket.destroy();
    }
    this.sockets.clear();
  }

  up(): void {
    this.isUp = true;
    this.stalled = false;
    for (const send of this.held.splice(0)) send();
  }

  delayReplies(ms: number): void {
    this.replyDelayMs = ms;
  }

  async close(): Promise<void> {
    this.cutAll(false);
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
  }
}
