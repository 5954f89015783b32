// The framing of the DATABASE_MIRRORING endpoint channel: every message, handshake or data,
// travels as magic u16 0x4D4C ("ML") | version u8 | type u8 | payload length u32 | payload,
// big-endian. Pure: no sockets, timers or clocks; the runtime pushes received bytes in and
// writes encoded frames out.
//
// The decoder never trusts a length before it has checked it: a frame longer than the current
// payload limit is a protocol error as soon as its header arrives, so a peer cannot make the
// endpoint buffer more than one header plus one maximal payload.
import { assert } from "../util/assert.js";

export const FRAME_MAGIC = 0x4d4c;
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 8;
/** Largest payload of any frame (a log block plus its envelope fits well inside). */
export const FRAME_PAYLOAD_MAX = 16 * 1024 * 1024;
/**
 * Largest payload before the handshake is done. A HELLO carries one certificate (about 1 KiB
 * for RSA-2048), so 64 KiB leaves room for large keys while an unauthenticated peer can make
 * the endpoint hold at most this much.
 */
export const HANDSHAKE_PAYLOAD_MAX = 64 * 1024;

/** Frame type codes on the wire; append only, a code once shipped keeps its meaning. */
export const FrameType = {
  HELLO: 1,
  HELLO_REPLY: 2,
  AUTH: 3,
  ACCEPT: 4,
  REFUSE: 5,
  PING: 6,
  PONG: 7,
  DATA: 8,
  CLOSE: 9,
} as const;

export type FrameTypeName = keyof typeof FrameType;

export const FRAME_TYPE_NAMES: readonly FrameTypeName[] =
  Object.keys(FrameType) as FrameTypeName[];

const NAME_BY_CODE: ReadonlyMap<number, FrameTypeName> =
  new Map(FRAME_TYPE_NAMES.map((name) => [FrameType[name], name]));

/** A decoded frame; the payload is a view into the decoder's bytes, owned by the receiver. */
export interface Frame {
  readonly type: FrameTypeName;
  readonly payload: Buffer;
}

/** Why a byte stream is not (or is no longer) a mirroring frame stream. */
export interface FrameProtocolError {
  readonly reason: string;
}

export type FramePush =
  | { readonly ok: true; readonly frames: readonly Frame[] }
  | { readonly ok: false; readonly error: FrameProtocolError };

// A full header must fit the smallest buffer bound, and a handshake frame any frame bound.
assert(HANDSHAKE_PAYLOAD_MAX <= FRAME_PAYLOAD_MAX, "handshake frames larger than frames");
assert(FRAME_PAYLOAD_MAX <= 0xffffffff, "payload length must fit the u32 length field");

/** One frame, header and payload, ready to write. Throws for an oversized payload (a caller bug). */
export function encodeFrame(type: FrameTypeName, payload: Buffer): Buffer {
  assert(payload.length <= FRAME_PAYLOAD_MAX,
    `${type} payload of ${payload.length} bytes exceeds FRAME_PAYLOAD_MAX`);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt16BE(FRAME_MAGIC, 0);
  header.writeUInt8(FRAME_VERSION, 2);
  header.writeUInt8(FrameType[type], 3);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload], FRAME_HEADER_BYTES + payload.length);
}

/**
 * Streaming decoder. push() returns every complete frame, or the first protocol error; after an
 * error the decoder stays broken (the connection is to be dropped, never resynchronised).
 * Buffered bytes never exceed FRAME_HEADER_BYTES + payloadMaxBytes.
 */
export class FrameDecoder {
  /** Received chunks not yet consumed; concatenated only once a whole frame is present. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failure: FrameProtocolError | null = null;

  constructor(private payloadMaxBytes: number = FRAME_PAYLOAD_MAX) {
    assert(payloadMaxBytes >= 0 && payloadMaxBytes <= FRAME_PAYLOAD_MAX, "payload bound out of range");
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Raises (or lowers) the payload bound, e.g. from the handshake bound once authenticated. */
  setPayloadMax(payloadMaxBytes: number): void {
    assert(payloadMaxBytes >= 0 && payloadMaxBytes <= FRAME_PAYLOAD_MAX, "payload bound out of range");
    this.payloadMaxBytes = payloadMaxBytes;
  }

  push(bytes: Buffer): FramePush {
    if (this.failure !== null) return { ok: false, error: this.failure };
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      const next = this.nextFrame();
      if (next === null) break;
      if ("reason" in next) {
        this.failure = next;
        this.chunks = [];
        this.buffered = 0;
        return { ok: false, error: next };
      }
      frames.push(next);
    }
    assert(this.buffered <= FRAME_HEADER_BYTES + this.payloadMaxBytes, "decoder buffer over its bound");
    return { ok: true, frames };
  }

  /**
   * Hands over the bytes not yet decoded and empties the decoder: used when the connection
   * switches to TLS, where any plaintext left over would be a protocol violation.
   */
  takeRemainder(): Buffer {
    const rest = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private nextFrame(): Frame | FrameProtocolError | null {
    if (this.buffered === 0) return null;
    const head = this.peek(Math.min(this.buffered, FRAME_HEADER_BYTES));
    const headerError = checkHeader(head, this.payloadMaxBytes);
    if (headerError !== null) return headerError;
    if (head.length < FRAME_HEADER_BYTES) return null;
    const length = head.readUInt32BE(4);
    if (this.buffered < FRAME_HEADER_BYTES + length) return null;
    const all = this.peek(this.buffered);
    const type = NAME_BY_CODE.get(head[3]!)!;
    const payload = all.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
    const rest = all.subarray(FRAME_HEADER_BYTES + length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return { type, payload };
  }

  /** The first `count` buffered bytes as one Buffer; merges chunks so later peeks are cheap. */
  private peek(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= count) return first;
    const merged = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [merged];
    return merged;
  }
}

/**
 * Checks as much of a header as has arrived, so that garbage is refused at its first byte
 * rather than after a timeout. `head` holds 1..FRAME_HEADER_BYTES bytes.
 */
function checkHeader(head: Buffer, payloadMaxBytes: number): FrameProtocolError | null {
  if (head[0] !== FRAME_MAGIC >> 8 || (head.length >= 2 && head.readUInt16BE(0) !== FRAME_MAGIC)) {
    return { reason: describeForeignBytes(head) };
  }
  if (head.length >= 3 && head[2] !== FRAME_VERSION) {
    return { reason: `frame version ${head[2]!} is not supported (this endpoint speaks ${FRAME_VERSION}).` };
  }
  if (head.length >= 4 && !NAME_BY_CODE.has(head[3]!)) {
    return { reason: `unknown frame type ${head[3]!}.` };
  }
  if (head.length >= FRAME_HEADER_BYTES && head.readUInt32BE(4) > payloadMaxBytes) {
    return { reason: `frame length ${head.readUInt32BE(4)} exceeds the limit of ${payloadMaxBytes} bytes.` };
  }
  return null;
}

/** Names the usual wrong clients, so the endpoint's refusal log says who knocked. */
function describeForeignBytes(head: Buffer): string {
  const hex = head.subarray(0, 4).toString("hex");
  if (head[0] === 0x16) return `a TLS ClientHello (0x16) arrived where a mirroring HELLO was expected (bytes ${hex}).`;
  if (head[0] === 0x12 || head[0] === 0x10) return `a TDS packet arrived on the mirroring endpoint (bytes ${hex}).`;
  return `the bytes ${hex} are not a mirroring frame (bad magic).`;
}
