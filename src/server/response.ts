// One response message streamed to the client: token bytes are cut into packets of the
// negotiated size as they are produced, EOM only on the last, so a large result set never sits
// whole in memory and the socket's backpressure paces the producer.
import type { Socket } from "node:net";
import { PacketStatus, PacketType } from "../tds/packet.js";
import { TokenWriter } from "../tds/tokens.js";

const HEADER_BYTES = 8;

export class ResponseStream {
  readonly tokens = new TokenWriter();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private packetId = 1;

  constructor(private readonly socket: Socket, private readonly packetBytes: number,
    private readonly spid: number) {}

  /** Sends every whole packet produced so far; waits while the socket's buffer is full. */
  async flush(): Promise<void> {
    this.collect();
    const payloadBytes = this.packetBytes - HEADER_BYTES;
    while (this.pendingBytes >= payloadBytes + 1) {
      // Keep at least one byte back so the final packet (with EOM) is never empty.
      const writable = this.writePacket(this.takePending(payloadBytes), 0);
      if (!writable) await this.drained();
    }
  }

  /** Ends the message: the rest of the bytes with EOM. */
  async end(): Promise<void> {
    await this.flush();
    this.collect();
    const writable = this.writePacket(this.takePending(this.pendingBytes), PacketStatus.EOM);
    if (!writable) await this.drained();
  }

  private collect(): void {
    if (this.tokens.byteLength === 0) return;
    const chunk = this.tokens.take();
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  private takePending(bytes: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const head = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return head;
  }

  private writePacket(payload: Buffer, status: number): boolean {
    if (this.socket.destroyed) return true;
    const packet = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
    packet[0] = PacketType.TABULAR_RESULT;
    packet[1] = status;
    packet.writeUInt16BE(HEADER_BYTES + payload.length, 2);
    packet.writeUInt16BE(this.spid & 0xffff, 4);
    packet[6] = this.packetId;
    packet[7] = 0;
    payload.copy(packet, HEADER_BYTES);
    this.packetId = (this.packetId + 1) % 256;
    return this.socket.write(packet);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writableNeedDrain) return resolve();
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }
}
