// The principal's log shipper for one database: sends durable records, in LSN order, from the
// LSN the session machine names (the mirror's hardened end + 1) over the mirroring channel.
// Records the writer just produced are taken from memory (the send queue); older ones, after a
// reconnect or when the queue outgrew its bound, are read back from the log. Only durable
// records leave: a record the principal could still lose must never be on the mirror.
//
// Pacing, like group commit one hop further: while a LOG message is in flight (sent, not yet
// hardened by the mirror) the next partial message waits, so the commits that arrive during
// the mirror's fsync travel together in one message, one TLS record and one acknowledgement,
// instead of one each; a full message never waits. The mirror's writer would have held them
// for its next fsync anyway, so SAFETY FULL commits wait no longer. Under SAFETY OFF nobody
// waits for the mirror, and partial messages also go at most every ASYNC_SHIP_INTERVAL_MS,
// unless ASYNC_HOLD_RECORD_BYTES of records built up: each message costs both partners a TLS
// record, an fsync on the mirror and an acknowledgement back, ~350 µs of the principal's CPU.
import { ChannelError } from "../../endpoint/channel.js";
import type { MirroringChannel } from "../../endpoint/transport.js";
import type { MirrorliteDatabase } from "../../storage/database.js";
import { RECORD_HEADER_BYTES } from "../../log/record.js";
import { LogStreamEncoder } from "../log_stream.js";
import { compressLogMessage, encodeWire } from "../wire.js";

/** Where a record header keeps its body length (src/log/record.ts layout). */
const BODY_BYTES_OFFSET = 40;
/** Records kept in memory for shipping; past this the shipper reads them back from the log. */
const SEND_QUEUE_MEMORY_BYTES_MAX = 64 * 1024 * 1024;
/** Blocks gathered into one LOG message (one DATA frame). */
const MESSAGE_BYTES_TARGET = 256 * 1024;
/** SAFETY OFF: the least time between two partial LOG messages (the mirror lags by about this much more). */
const ASYNC_SHIP_INTERVAL_MS = 50;
/**
 * SAFETY OFF: record bytes (before encoding) that end the interval early. Single-row commits
 * are ~9 KiB of records and ~250 bytes encoded: MESSAGE_BYTES_TARGET of records would cut
 * messages of ~28 commits and ~7 KiB under load.
 */
const ASYNC_HOLD_RECORD_BYTES = 4 * 1024 * 1024;
/**
 * The longest a partial message waits for the previous one's hardening: an acknowledgement
 * that never comes (the mirror had those records already) must not stall shipping.
 */
const IN_FLIGHT_WAIT_MS_MAX = 20;
/** Pages both ends cache for deltas; identical on both ends (see log_stream.ts). */
export const LOG_STREAM_CACHE_PAGES = 4096;

interface QueuedRecord { readonly lsn: number; readonly bytes: Buffer }
/** What a held partial message waits for: the SAFETY OFF interval, or the message in flight. */
type HoldReason = "interval" | "inFlight";

export interface ShipperCounters {
  /** Record bytes shipped (before compression) and wire bytes sent, since the instance started. */
  logBytesSent: number;
  wireBytesSent: number;
  recordsSent: number;
}

export class LogShipper {
  private queue: QueuedRecord[] = [];
  private queueBytes = 0;
  private nextLsn: number | null = null;
  /** What the mirror last acknowledged: records up to here leave memory. */
  private hardenedLsn = 0;
  private channel: MirroringChannel | null = null;
  private generation = 0;
  private wake: (() => void) | null = null;
  /**
   * What the shipper is holding a partial message for (see hold), null when not holding. Only
   * a full message, the timer or stop() ends a hold; a hardening also ends an in-flight one.
   */
  private holding: HoldReason | null = null;
  /** Record bytes ever queued, and the figure when the last message left (see kick). */
  private enqueuedBytes = 0;
  private enqueuedAtSend = 0;
  /** The last LSN handed to the channel in this stream; in flight while above hardenedLsn. */
  private sentLsn = 0;
  /** When the current in-flight wait began, and when the last partial message left. */
  private heldSinceMs: number | null = null;
  private lastPartialMs = 0;
  private readonly encoder: LogStreamEncoder;
  readonly counters: ShipperCounters = { logBytesSent: 0, wireBytesSent: 0, recordsSent: 0 };
  private readonly detach: () => void;

  /** `asynchronous()`: the session runs SAFETY OFF (partial messages are also paced by time). */
  constructor(private readonly db: MirrorliteDatabase, private readonly onError: (error: Error) => void,
    private readonly asynchronous: () => boolean) {
    // Blocks are deflated per message (compressLogMessage), not per record.
    this.encoder = new LogStreamEncoder({ cachePages: LOG_STREAM_CACHE_PAGES, deflate: false });
    const offRecord = db.onRecord((lsn, bytes) => this.enqueue(lsn, bytes));
    const offDurable = db.log.onDurable(() => this.kick());
    this.detach = () => { offRecord(); offDurable(); };
  }

  /** Log Send Queue KB: log in memory here that has not been sent to the mirror yet. */
  unsentBytes(): number {
    const from = this.nextLsn ?? this.hardenedLsn + 1;
    let bytes = 0;
    for (const record of this.queue) if (record.lsn >= from) bytes += record.bytes.length;
    return bytes;
  }

  /** Starts (or restarts) shipping at `lsn` on `channel`: both ends reset their page caches. */
  start(lsn: number, channel: MirroringChannel): void {
    this.stop();
    const generation = ++this.generation;
    this.nextLsn = lsn;
    this.sentLsn = lsn - 1;
    this.hardenedLsn = Math.max(this.hardenedLsn, lsn - 1);
    this.heldSinceMs = null;
    this.channel = channel;
    this.encoder.reset();
    void channel.send("DATA", encodeWire({ kind: "resetStream" }));
    this.run(generation).catch((error: Error) => {
      if (generation === this.generation) this.onError(error);
    });
  }

  stop(): void {
    this.generation++;
    this.nextLsn = null;
    this.channel = null;
    this.wakeNow();
  }

  /** The mirror hardened up to lsn: those records need not stay in memory. */
  hardened(lsn: number): void {
    this.hardenedLsn = Math.max(this.hardenedLsn, lsn);
    let drop = 0;
    while (drop < this.queue.length && this.queue[drop]!.lsn <= lsn) this.queueBytes -= this.queue[drop++]!.bytes.length;
    if (drop > 0) this.queue = this.queue.slice(drop);
    if (this.sentLsn > lsn) return;
    if (this.holding === "inFlight") this.wakeNow();
    else this.kick();
  }

  close(): void {
    this.stop();
    this.detach();
    this.queue = [];
    this.queueBytes = 0;
  }

  private enqueue(lsn: number, padded: Buffer): void {
    // The log stores records padded to 8 bytes; the stream carries the exact record.
    const bytes = padded.subarray(0, RECORD_HEADER_BYTES + padded.readUInt32LE(BODY_BYTES_OFFSET));
    this.queue.push({ lsn, bytes });
    this.queueBytes += bytes.length;
    this.enqueuedBytes += bytes.length;
    while (this.queueBytes > SEND_QUEUE_MEMORY_BYTES_MAX && this.queue.length > 1) {
      this.queueBytes -= this.queue.shift()!.bytes.length;
    }
  }

  /**
   * The log became durable. While the shipper holds a partial message that changes nothing
   * unless a full message has built up: waking to find that out cost a new timer per local
   * fsync, the largest item of the shipper's own loop at one connection.
   */
  private kick(): void {
    if (this.holding !== null && this.enqueuedBytes - this.enqueuedAtSend < this.holdRecordBytes()) return;
    this.wakeNow();
  }

  private wakeNow(): void {
    const wake = this.wake;
    this.wake = null;
    this.holding = null;
    wake?.();
  }

  private async run(generation: number): Promise<void> {
    while (generation === this.generation) {
      const channel = this.channel!;
      const durable = this.db.log.durableLsn;
      const next = this.nextLsn!;
      if (next > durable || channel.closed) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        continue;
      }
      const first = this.queue[0]?.lsn ?? Infinity;
      if (next < first) {
        await this.sendRecords(generation, channel, this.fromLog(next, Math.min(durable, first - 1)));
        continue;
      }
      const hold = this.hold(next, durable);
      if (hold !== null) {
        await this.sleep(hold.ms, hold.reason);
        continue;
      }
      this.heldSinceMs = null;
      await this.sendRecords(generation, channel, this.fromMemory(next, durable));
    }
  }

  /**
   * How long a partial message waits (see the pacing note above; null sends now), and what for:
   * the SAFETY OFF interval (only time or a full message ends it), or the message in flight
   * (its hardening ends it too).
   */
  private hold(next: number, durable: number): { ms: number; reason: HoldReason } | null {
    if (this.pendingBytesReach(next, durable, this.holdRecordBytes())) return null;
    const now = performance.now();
    let inFlightMs = 0;
    if (this.sentLsn > this.hardenedLsn) {
      this.heldSinceMs ??= now;
      inFlightMs = this.heldSinceMs + IN_FLIGHT_WAIT_MS_MAX - now;
    }
    const intervalMs = this.asynchronous() ? this.lastPartialMs + ASYNC_SHIP_INTERVAL_MS - now : 0;
    const ms = Math.max(inFlightMs, intervalMs);
    if (ms <= 0) return null;
    return { ms: Math.ceil(ms), reason: intervalMs >= inFlightMs ? "interval" : "inFlight" };
  }

  /** Record bytes that end a hold: a message's worth under SAFETY FULL, more under OFF. */
  private holdRecordBytes(): number {
    return this.asynchronous() ? ASYNC_HOLD_RECORD_BYTES : MESSAGE_BYTES_TARGET;
  }

  /** Whether the durable records from `next` in memory add up to `bytes` (a full message). */
  private pendingBytesReach(next: number, durable: number, bytes: number): boolean {
    let sum = 0;
    for (let i = next - this.queue[0]!.lsn; i < this.queue.length && this.queue[i]!.lsn <= durable; i++) {
      sum += this.queue[i]!.bytes.length;
      if (sum >= bytes) return true;
    }
    return false;
  }

  /** Holds for `ms` at most: a full message, a hardening (in flight) or stop() end it sooner. */
  private sleep(ms: number, reason: HoldReason): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wakeNow(), ms);
      this.holding = reason;
      this.wake = () => { clearTimeout(timer); resolve(); };
    });
  }

  /** A snapshot: hardened() replaces the queue while a send awaits. */
  private fromMemory(next: number, durable: number): Buffer[] {
    const start = next - this.queue[0]!.lsn;
    const records: Buffer[] = [];
    for (let i = start; i < this.queue.length && this.queue[i]!.lsn <= durable; i++) records.push(this.queue[i]!.bytes);
    return records;
  }

  private async *fromLog(next: number, to: number): AsyncGenerator<Buffer> {
    for await (const record of this.db.readLogRaw(next, to)) yield record.bytes;
  }

  private async sendRecords(generation: number, channel: MirroringChannel,
    records: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    let blocks: Buffer[] = [];
    let bytes = 0;
    for await (const record of records) {
      if (generation !== this.generation) return;
      const block = this.encoder.encode(record);
      blocks.push(block);
      bytes += block.length;
      this.counters.logBytesSent += record.length;
      this.counters.recordsSent++;
      this.nextLsn! += 1;
      this.sentLsn = this.nextLsn! - 1;
      if (bytes >= MESSAGE_BYTES_TARGET) {
        await this.flush(channel, blocks);
        blocks = [];
        bytes = 0;
      }
    }
    if (blocks.length > 0 && generation === this.generation) {
      this.lastPartialMs = performance.now();
      this.enqueuedAtSend = this.enqueuedBytes;
      await this.flush(channel, blocks);
    }
  }

  private async flush(channel: MirroringChannel, blocks: Buffer[]): Promise<void> {
    if (channel.closed) return;
    const message = await compressLogMessage(encodeWire({ kind: "log", blocks }));
    if (channel.closed) return;
    this.counters.wireBytesSent += message.length;
    try {
      await channel.send("DATA", message);
    } catch (error) {
      // A channel that closed under us: the session sees 'close' and stops this shipper.
      if (!(error instanceof ChannelError)) throw error;
    }
  }
}
