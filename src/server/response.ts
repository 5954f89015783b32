// One response message streamed to the client: token bytes are cut into packets of the
// negotiated size as they are produced (MessageEncoder), EOM only on the last, so a large
// result set never sits whole in memory and the socket's backpressure paces the producer.
import type { Socket } from "node:net";
import { MessageEncoder, PacketType } from "../tds/packet.js";
import { TokenWriter } from "../tds/tokens.js";

export class ResponseStream {
  readonly tokens = new TokenWriter();
  private readonly encoder: MessageEncoder;

  constructor(private readonly socket: Socket, packetBytes: number, spid: number) {
    this.encoder = new MessageEncoder(PacketType.TABULAR_RESULT, packetBytes, spid);
  }

  /** Sends every whole packet produced so far; waits while the socket's buffer is full. */
  async flush(): Promise<void> {
    if (this.tokens.byteLength === 0) return;
    await this.write(this.encoder.push(this.tokens.take()));
  }

  /** Ends the message: the rest of the bytes, the last packet with EOM. */
  async end(): Promise<void> {
    await this.write(this.encoder.finish(this.tokens.take()));
  }

  private async write(packets: Buffer): Promise<void> {
    if (packets.length === 0 || this.socket.destroyed) return;
    if (!this.socket.write(packets)) await this.drained();
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
