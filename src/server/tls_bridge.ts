// The "network" under a server-side tls.TLSSocket: a Duplex between TLS and the client's TCP
// socket. For TDS 7.x the handshake travels inside PRELOGIN (0x12) packets both ways
// (spec/tds.md §1.3): incoming packets are unwrapped before TLS sees them, and everything TLS
// writes within one flight leaves as one PRELOGIN message, because tedious reads exactly one
// message per flight. Both directions turn raw when the client sends its first raw TLS record:
// Node emits 'secure' before it writes its Finished, so switching on 'secure' would send the
// Finished unwrapped and the client would wait forever. TDS 8.0 strict uses it raw throughout.
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { encodeMessage, PACKET_HEADER_BYTES, PacketType, ProtocolViolation } from "../tds/packet.js";

/** Handshake messages are cut at the pre-login packet size. */
const HANDSHAKE_PACKET_BYTES = 4096;
/** TLS record content types change_cipher_spec (20) … application_data (23). */
const TLS_RECORD_FIRST = 0x14;
const TLS_RECORD_LAST = 0x17;
const EMPTY: Buffer = Buffer.alloc(0);

export class TlsBridge extends Duplex {
  private wrapped: boolean;
  /** Incoming bytes of a PRELOGIN packet not yet complete (wrapped mode only; < 64 KiB). */
  private partial: Buffer = EMPTY;
  private readonly flight: Buffer[] = [];
  private flightTimer: NodeJS.Immediate | null = null;
  private detached = false;

  /**
   * `wrapped`: TDS 7.x handshake inside PRELOGIN packets; false: raw TLS (TDS 8.0 strict).
   * `onViolation` reports malformed wrapped input; the owner closes the connection.
   */
  constructor(private readonly socket: Socket, wrapped: boolean,
    private readonly onViolation: (violation: ProtocolViolation) => void) {
    super();
    this.wrapped = wrapped;
  }

  /** Client bytes from the TCP socket, on their way to TLS. */
  receive(chunk: Buffer): void {
    if (this.detached) return;
    if (!this.wrapped) return this.forward(chunk);
    let bytes = this.partial.length === 0 ? chunk : Buffer.concat([this.partial, chunk]);
    while (bytes.length > 0) {
      const type = bytes[0]!;
      if (type >= TLS_RECORD_FIRST && type <= TLS_RECORD_LAST) {
        // The client has the whole handshake and talks raw TLS from here on (tds.md pitfall 1).
        this.partial = EMPTY;
        this.goRaw();
        return this.forward(bytes);
      }
      if (type !== PacketType.PRELOGIN) {
        return this.fail(`packet type 0x${type.toString(16)} during the TLS handshake`);
      }
      if (bytes.length < PACKET_HEADER_BYTES) break;
      const length = bytes.readUInt16BE(2);
      if (length < PACKET_HEADER_BYTES) return this.fail(`handshake packet length ${length}`);
      if (bytes.length < length) break;
      this.forward(bytes.subarray(PACKET_HEADER_BYTES, length));
      bytes = bytes.subarray(length);
    }
    this.partial = bytes;
  }

  /** The client's TCP stream ended: TLS sees end of input. */
  receiveEnd(): void {
    if (!this.detached) this.push(null);
  }

  /**
   * Login-only encryption is over: from now on nothing passes through, in either direction, and
   * TLS gets no chance to send close_notify (FreeTDS just stops using TLS after LOGIN7).
   */
  detach(): void {
    this.detached = true;
    this.flight.length = 0;
    if (this.flightTimer !== null) clearImmediate(this.flightTimer);
    this.flightTimer = null;
    this.socket.resume();
  }

  override _read(): void {
    // TLS wants more: undo the pause that forward() applied when its buffer was full.
    if (!this.detached) this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.detached || this.socket.destroyed) return done();
    if (this.wrapped) {
      this.flight.push(chunk);
      // One flight is written within one turn of the event loop; send it as one message after.
      this.flightTimer ??= setImmediate(() => this.sendFlight());
      return done();
    }
    if (this.socket.write(chunk)) return done();
    // Backpressure: TLS (and so the response writer above it) waits until the socket drains.
    const resume = (): void => {
      this.socket.off("drain", resume);
      this.socket.off("close", resume);
      done();
    };
    this.socket.on("drain", resume);
    this.socket.on("close", resume);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // The TCP socket belongs to the owner (login-only encryption outlives this bridge).
    this.detach();
    done(error);
  }

  private forward(bytes: Buffer): void {
    if (bytes.length > 0 && !this.push(bytes)) this.socket.pause();
  }

  private goRaw(): void {
    this.sendFlight();
    this.wrapped = false;
  }

  private sendFlight(): void {
    if (this.flightTimer !== null) clearImmediate(this.flightTimer);
    this.flightTimer = null;
    if (this.flight.length === 0 || this.socket.destroyed) return;
    const payload = Buffer.concat(this.flight);
    this.flight.length = 0;
    this.socket.write(encodeMessage(PacketType.PRELOGIN, payload, HANDSHAKE_PACKET_BYTES, 0));
  }

  private fail(message: string): void {
    this.partial = EMPTY;
    this.detached = true;
    this.onViolation(new ProtocolViolation("tls-handshake", message));
  }
}
