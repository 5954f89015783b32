// A lean TDS load generator for the bench: PRELOGIN, LOGIN7, then SQL batches whose response
// is only checked for its final DONE's ERROR bit. It spends a fraction of a driver's CPU per
// request, so on a 2-core machine the bench measures the server rather than the client.
import * as net from "node:net";
import { buildLogin7, buildSqlBatch } from "../src/tds/client_messages.js";
import { encodeMessage, MessageReader, PacketType, type IncomingMessage } from "../src/tds/packet.js";
import { buildPreloginReply, Encryption } from "../src/tds/prelogin.js";

const DONE_ERROR = 0x02;
const DONE_TOKEN_BYTES = 13;

export class LeanClient {
  private readonly reader = new MessageReader({ packetBytesMax: 32_767, messageBytesMax: 64 * 1024 * 1024 });
  private waiting: ((message: IncomingMessage) => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let message = this.reader.next(); message !== null; message = this.reader.next()) {
        const waiting = this.waiting;
        this.waiting = null;
        waiting?.(message);
      }
    });
  }

  static async connect(port: number, userName: string, password: string, database: string): Promise<LeanClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    const client = new LeanClient(socket);
    // A PRELOGIN request has the same layout as the reply.
    await client.request(PacketType.PRELOGIN, buildPreloginReply({ version: [1, 0, 0, 0], encryption: Encryption.NOT_SUP }));
    const login = await client.request(PacketType.LOGIN7, buildLogin7({ userName, password, database }));
    if (!login.payload.includes(0xad)) throw new Error("login failed");
    return client;
  }

  /** Runs one batch; throws if its final DONE has the ERROR bit. */
  async batch(sql: string): Promise<void> {
    const response = await this.request(PacketType.SQL_BATCH, buildSqlBatch(sql));
    const done = response.payload.subarray(response.payload.length - DONE_TOKEN_BYTES);
    if (done[0] !== 0xfd || (done.readUInt16LE(1) & DONE_ERROR) !== 0) throw new Error(`batch failed: ${sql}`);
  }

  close(): void {
    this.socket.destroy();
  }

  private request(type: number, payload: Buffer): Promise<IncomingMessage> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(encodeMessage(type, payload, 4096, 0));
    });
  }
}
