// TDS packet framing (MS-TDS 2.2.3): an 8-byte big-endian header, then payload; a message is a
// run of packets of one type, the last with EOM. Pure and incremental: MessageReader takes socket
// chunks in any split and yields whole messages, holding at most one partial packet plus the
// message being assembled; the encoders split an outgoing payload at the negotiated packet size.
import { assert } from "../util/assert.js";

export const PacketType = {
  SQL_BATCH: 0x01,
  PRE_TDS7_LOGIN: 0x02,
  RPC: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  BULK_LOAD: 0x07,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  SSPI: 0x11,
  PRELOGIN: 0x12,
} as const;

export const PacketStatus = {
  EOM: 0x01,
  IGNORE: 0x02,
  RESET_CONNECTION: 0x08,
  RESET_CONNECTION_SKIP_TRAN: 0x10,
} as const;

export const PACKET_HEADER_BYTES = 8;
/** The packet Length field is a u16, so no packet (header included) can be larger. */
export const PACKET_BYTES_LIMIT = 0xffff;

/** A malformed or hostile client message: the session must end (after an optional error). */
export class ProtocolViolation extends Error {
  override readonly name = "ProtocolViolation";
  /** Short stable code for logs and tests, e.g. "packet-length", "login7". */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** One complete client message (all its packets' payloads, in order). */
export interface IncomingMessage {
  readonly type: number;
  readonly payload: Buffer;
  /** The client aborted this message (IGNORE on its last packet): discard it, still reply once. */
  readonly ignore: boolean;
  /** RESETCONNECTION or RESETCONNECTIONSKIPTRAN on the first packet: reset the session first. */
  readonly resetConnection: boolean;
}

export interface ReaderLimits {
  /** Largest packet accepted, header included (the negotiated packet size, or a cap above it). */
  readonly packetBytesMax: number;
  /** Largest message payload accepted; checked before any of it is assembled. */
  readonly messageBytesMax: number;
}

/** FIFO of received chunks; bytes are copied out once and consumed chunks are dropped. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private head = 0; // index of the first live chunk
  private offset = 0; // bytes already consumed from chunks[head]
  bytes = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Copies up to `count` bytes into target[targetStart..]; returns how many were copied. */
  copyInto(target: Buffer, targetStart: number, count: number): number {
    let copied = 0;
    while (copied < count && this.head < this.chunks.length) {
      const chunk = this.chunks[this.head]!;
      const take = Math.min(count - copied, chunk.length - this.offset);
      chunk.copy(target, targetStart + copied, this.offset, this.offset + take);
      copied += take;
      this.offset += take;
      if (this.offset === chunk.length) this.dropHead();
    }
    this.bytes -= copied;
    return copied;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY; // release the memory now, not at the next compaction
    this.head += 1;
    this.offset = 0;
    // Compact only when the dead prefix dominates, so dropping stays O(1) amortized even when
    // the client trickles one byte per chunk.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** The packet currently being read: its header once complete, then its payload. */
interface PacketInProgress {
  readonly type: number;
  readonly status: number;
  readonly payload: Buffer;
  filled: number;
}

/** The message being assembled from packets already read. */
interface MessageInProgress {
  readonly type: number;
  readonly resetConnection: boolean;
  readonly parts: Buffer[];
  bytes: number;
}

/**
 * Incremental, bounded TDS message reader. Feed socket chunks with push(); call next() until it
 * returns null after each push. next() throws ProtocolViolation on a bad header length, a type
 * change inside a message, or a message over messageBytesMax; after a throw the reader is
 * unusable and the connection must be closed.
 */
export class MessageReader {
  private limits: ReaderLimits;
  private readonly input = new ChunkQueue();
  private readonly header = Buffer.alloc(PACKET_HEADER_BYTES);
  private headerFilled = 0;
  private packet: PacketInProgress | null = null;
  private message: MessageInProgress | null = null;

  constructor(limits: ReaderLimits) {
    this.limits = checkedLimits(limits);
  }

  /** Raises or lowers the limits, e.g. to the packet size negotiated at login. */
  setLimits(limits: ReaderLimits): void {
    this.limits = checkedLimits(limits);
  }

  push(chunk: Buffer): void {
    this.input.push(chunk);
  }

  /** Bytes held (unread input plus the partial packet and message): for socket backpressure. */
  get bufferedBytes(): number {
    return this.input.bytes + (this.packet?.filled ?? 0) + (this.message?.bytes ?? 0);
  }

  /** The next complete message, or null when more bytes are needed. */
  next(): IncomingMessage | null {
    for (;;) {
      if (this.packet === null && !this.readHeader()) return null;
      const packet = this.packet!;
      packet.filled += this.input.copyInto(packet.payload, packet.filled,
        packet.payload.length - packet.filled);
      if (packet.filled < packet.payload.length) return null;
      this.packet = null;
      const done = this.addToMessage(packet);
      if (done !== null) return done;
    }
  }

  /** Reads and validates the next header; false when it is not complete yet. */
  private readHeader(): boolean {
    this.headerFilled += this.input.copyInto(this.header, this.headerFilled,
      PACKET_HEADER_BYTES - this.headerFilled);
    if (this.headerFilled < PACKET_HEADER_BYTES) return false;
    this.headerFilled = 0;
    const type = this.header[0]!;
    const status = this.header[1]!;
    const length = this.header.readUInt16BE(2);
    if (length < PACKET_HEADER_BYTES || length > this.limits.packetBytesMax) {
      throw new ProtocolViolation("packet-length",
        `packet length ${length} outside ${PACKET_HEADER_BYTES}..${this.limits.packetBytesMax}`);
    }
    const payloadBytes = length - PACKET_HEADER_BYTES;
    this.checkContinuation(type, payloadBytes);
    this.packet = { type, status, payload: Buffer.alloc(payloadBytes), filled: 0 };
    return true;
  }

  /** Checks a new packet against the message it continues, before its payload is buffered. */
  private checkContinuation(type: number, payloadBytes: number): void {
    const message = this.message;
    // An ATTENTION between messages is simply a new message; inside one it is a type change.
    if (message !== null && message.type !== type) {
      throw new ProtocolViolation("type-changed",
        `packet type 0x${hex(type)} inside a message of type 0x${hex(message.type)}`);
    }
    const total = (message?.bytes ?? 0) + payloadBytes;
    if (total > this.limits.messageBytesMax) {
      throw new ProtocolViolation("message-too-large",
        `message of at least ${total} bytes exceeds ${this.limits.messageBytesMax}`);
    }
  }

  private addToMessage(packet: PacketInProgress): IncomingMessage | null {
    const message = this.message ?? {
      type: packet.type,
      resetConnection: (packet.status & RESET_BITS) !== 0,
      parts: [],
      bytes: 0,
    };
    message.parts.push(packet.payload);
    message.bytes += packet.payload.length;
    if ((packet.status & PacketStatus.EOM) === 0) {
      this.message = message;
      return null;
    }
    this.message = null;
    const payload = message.parts.length === 1 ? message.parts[0]! :
      Buffer.concat(message.parts, message.bytes);
    return {
      type: message.type,
      payload,
      ignore: (packet.status & PacketStatus.IGNORE) !== 0,
      resetConnection: message.resetConnection,
    };
  }
}

const RESET_BITS = PacketStatus.RESET_CONNECTION | PacketStatus.RESET_CONNECTION_SKIP_TRAN;

function checkedLimits(limits: ReaderLimits): ReaderLimits {
  assert(Number.isInteger(limits.packetBytesMax) && limits.packetBytesMax > PACKET_HEADER_BYTES,
    `packetBytesMax ${limits.packetBytesMax} must exceed the header size`);
  assert(Number.isInteger(limits.messageBytesMax) && limits.messageBytesMax >= 0,
    `messageBytesMax ${limits.messageBytesMax} must be a non-negative integer`);
  return { packetBytesMax: limits.packetBytesMax, messageBytesMax: limits.messageBytesMax };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/**
 * Streams one outgoing message as packets: push() returns only full, non-final packets (the
 * remainder waits for more payload), finish() returns the rest with EOM on the last packet.
 * Lets the runtime flush a large result in bounded pieces while PacketIDs stay continuous.
 */
export class MessageEncoder {
  private readonly payloadBytesMax: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private packetId = 1;
  private finished = false;

  constructor(private readonly type: number, packetBytes: number, private readonly spid: number) {
    assert(Number.isInteger(packetBytes) && packetBytes > PACKET_HEADER_BYTES &&
      packetBytes <= PACKET_BYTES_LIMIT, `packet size ${packetBytes} out of range`);
    assert(Number.isInteger(spid) && spid >= 0 && spid <= 0xffff, `spid ${spid} out of range`);
    this.payloadBytesMax = packetBytes - PACKET_HEADER_BYTES;
  }

  /** Adds payload; returns the full packets now ready (possibly none). */
  push(payload: Buffer): Buffer {
    assert(!this.finished, "push after finish");
    if (payload.length > 0) {
      this.pending.push(payload);
      this.pendingBytes += payload.length;
    }
    // Keep at least one byte back: the last packet must carry EOM, and only finish() knows
    // which packet is last.
    const fullPackets = Math.floor((this.pendingBytes - 1) / this.payloadBytesMax);
    if (this.pendingBytes === 0 || fullPackets === 0) return EMPTY;
    return this.emit(fullPackets * this.payloadBytesMax, false);
  }

  /**
   * Adds payload and returns packets for all of it but its last byte, the last packet short:
   * what SQL Server does for RAISERROR WITH NOWAIT and STATS, so the client sees messages
   * while the statement runs. One byte stays back for the EOM packet.
   */
  pushNow(payload: Buffer): Buffer {
    const full = this.push(payload);
    if (this.pendingBytes <= 1) return full;
    const short = this.emit(this.pendingBytes - 1, false);
    return full.length === 0 ? short : Buffer.concat([full, short]);
  }

  /** Adds the last payload and returns every remaining packet, the last one with EOM. */
  finish(payload: Buffer = EMPTY): Buffer {
    const head = this.push(payload);
    this.finished = true;
    const tail = this.emit(this.pendingBytes, true);
    return head.length === 0 ? tail : Buffer.concat([head, tail]);
  }

  /** Encodes the first `bytes` pending bytes as packets; `final` puts EOM on the last one. */
  private emit(bytes: number, final: boolean): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! :
      Buffer.concat(this.pending, this.pendingBytes);
    const packetCount = Math.max(1, Math.ceil(bytes / this.payloadBytesMax));
    const out = Buffer.alloc(bytes + packetCount * PACKET_HEADER_BYTES);
    let at = 0;
    for (let i = 0; i < packetCount; i++) {
      const start = i * this.payloadBytesMax;
      const end = Math.min(bytes, start + this.payloadBytesMax);
      const eom = final && i === packetCount - 1;
      at = this.writePacket(out, at, all.subarray(start, end), eom);
    }
    const rest = all.subarray(bytes);
    this.pending = rest.length === 0 ? [] : [rest];
    this.pendingBytes = rest.length;
    return out;
  }

  private writePacket(out: Buffer, at: number, body: Buffer, eom: boolean): number {
    out[at] = this.type;
    out[at + 1] = eom ? PacketStatus.EOM : 0;
    out.writeUInt16BE(body.length + PACKET_HEADER_BYTES, at + 2);
    out.writeUInt16BE(this.spid, at + 4);
    out[at + 6] = this.packetId;
    out[at + 7] = 0; // window, unused
    this.packetId = (this.packetId + 1) % 256;
    body.copy(out, at + PACKET_HEADER_BYTES);
    return at + PACKET_HEADER_BYTES + body.length;
  }
}

/**
 * Encodes one whole message as packets of at most packetBytes (header included), EOM on the last,
 * PacketID from 1 wrapping mod 256. An empty payload gives a single 8-byte EOM packet.
 */
export function encodeMessage(type: number, payload: Buffer, packetBytes: number,
  spid: number): Buffer {
  return new MessageEncoder(type, packetBytes, spid).finish(payload);
}
