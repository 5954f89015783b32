// One response message streamed to the client: token bytes are cut into packets of the
// negotiated size as they are produced (MessageEncoder), EOM only on the last, so a large
// result set never sits whole in memory and the output's backpressure paces the producer.
import { MessageEncoder, PacketType } from "../tds/packet.js";
import { TokenWriter } from "../tds/tokens.js";

/**
 * Where responses go: the client's stream, plaintext or TLS (TdsSocket). write() returns false
 * when the caller should wait for drained() before writing more.
 */
export interface TdsOutput {
  write(bytes: Buffer): boolean;
  /** Resolves once the output can take more bytes, or is closed. */
  drained(): Promise<void>;
  readonly destroyed: boolean;
}

export class ResponseStream {
  readonly tokens = new TokenWriter();
  private readonly encoder: MessageEncoder;

  constructor(private readonly output: TdsOutput, packetBytes: number, spid: number) {
    this.encoder = new MessageEncoder(PacketType.TABULAR_RESULT, packetBytes, spid);
  }

  /** Sends every whole packet produced so far; waits while the output's buffer is full. */
  async flush(): Promise<void> {
    if (this.tokens.byteLength === 0) return;
    await this.write(this.encoder.push(this.tokens.take()));
  }

  /** Sends everything produced so far now, in a short packet if need be (messages mid-statement). */
  async flushNow(): Promise<void> {
    if (this.tokens.byteLength === 0) return;
    await this.write(this.encoder.pushNow(this.tokens.take()));
  }

  /** Ends the message: the rest of the bytes, the last packet with EOM. */
  async end(): Promise<void> {
    await this.write(this.encoder.finish(this.tokens.take()));
  }

  private async write(packets: Buffer): Promise<void> {
    if (packets.length === 0 || this.output.destroyed) return;
    if (!this.output.write(packets)) await this.output.drained();
  }
}
