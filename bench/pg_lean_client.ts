// A lean PostgreSQL load generator for the bench, the counterpart of tds_lean_client.ts:
// protocol 3.0 startup under trust authentication, then simple Query messages whose response is
// only framed and checked for an ErrorResponse up to ReadyForQuery. Rows are not decoded, so the
// figure is the server's, not a driver's.
import * as net from "node:net";

const PROTOCOL_3_0 = 196608;

export class PgLeanClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((failed: boolean) => void) | null = null;
  private failed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
  }

  static async connect(port: number, user: string, database: string): Promise<PgLeanClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    const client = new PgLeanClient(socket);
    const body = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
    const startup = Buffer.alloc(8 + body.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(PROTOCOL_3_0, 4);
    body.copy(startup, 8);
    // Trust authentication: AuthenticationOk, parameters, then the first ReadyForQuery.
    if (await client.send(startup)) throw new Error("startup failed");
    return client;
  }

  /** Runs one simple query; throws if the server answered with an ErrorResponse. */
  async query(sql: string): Promise<void> {
    const text = Buffer.from(`${sql}\0`);
    const message = Buffer.alloc(5 + text.length);
    message.write("Q", 0, "latin1");
    message.writeInt32BE(4 + text.length, 1);
    text.copy(message, 5);
    if (await this.send(message)) throw new Error(`query failed: ${sql}`);
  }

  close(): void {
    this.socket.end(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
  }

  private send(message: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.failed = false;
      this.socket.write(message);
    });
  }

  /** Frames messages (type byte, int32 length) and resolves at ReadyForQuery ('Z'). */
  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    while (this.buffer.length - offset >= 5) {
      const length = this.buffer.readInt32BE(offset + 1);
      if (this.buffer.length - offset < 1 + length) break;
      const type = this.buffer[offset]!;
      offset += 1 + length;
      if (type === 0x45) this.failed = true; // 'E' ErrorResponse
      if (type === 0x5a) { // 'Z' ReadyForQuery
        const waiting = this.waiting;
        this.waiting = null;
        waiting?.(this.failed);
      }
    }
    this.buffer = this.buffer.subarray(offset);
  }
}
