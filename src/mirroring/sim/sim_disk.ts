// One partner's disk in the simulator: the log (encoded records with a durable prefix), the
// persisted session record, the database file as a page map with its checkpoint LSN, and the
// runtime's rewind journal. A crash keeps what was fsynced, a random prefix of what was not, and
// maybe a torn copy of the next record; recovery must find the end of the log by validating each
// record with the real decoders (decodeHeader, then decodeBody), as startup recovery does.
import { RECORD_HEADER_BYTES, decodeBody, decodeHeader, type PageImage, type RecordHeader } from "../../log/record.js";
import { assert } from "../../util/assert.js";
import { EMPTY_PAGE_MAP, redoIntoPageMap, type PageMap } from "../page_redo.js";
import type { RewindPlan } from "../rewind.js";
import type { PersistedSession } from "../session.js";
import type { Prng } from "../../util/prng.js";

/** Offset of the header CRC (record.ts layout): it covers epoch, LSN and body CRC. */
const HEADER_CRC_OFFSET = RECORD_HEADER_BYTES - 4;

export interface LogEntry {
  /** The record as it lies in the log (padded to 8 bytes). */
  readonly bytes: Buffer;
  readonly header: RecordHeader;
  readonly pages: readonly PageImage[];
  /** Identity of the record: its header CRC (the same bytes on both partners). */
  readonly id: number;
  /** Identity of the whole history up to this record: equal chains, equal logs. */
  readonly chain: number;
}

function chainOf(previous: number, id: number, lsn: number): number {
  let h = Math.imul(previous ^ id, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ lsn, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Validates one record exactly as recovery does and links it after `previous`; a string says why not. */
export function decodeEntry(bytes: Buffer, previous: LogEntry | undefined): LogEntry | string {
  const header = decodeHeader(bytes);
  if (typeof header === "string") return header;
  const pages = decodeBody(header, bytes.subarray(RECORD_HEADER_BYTES));
  if (typeof pages === "string") return pages;
  const expected = (previous?.header.lsn ?? 0) + 1;
  if (header.lsn !== expected) return `record ${header.lsn} where ${expected} belongs`;
  const id = bytes.readUInt32LE(HEADER_CRC_OFFSET);
  return { bytes, header, pages, id, chain: chainOf(previous?.chain ?? 0, id, header.lsn) };
}

/** The exact record bytes (header and body, no padding): what the log stream encodes. */
export function exactBytes(entry: LogEntry): Buffer {
  return entry.bytes.subarray(0, RECORD_HEADER_BYTES + entry.header.bodyBytes);
}

/** Chain value of the first `lsn` records of a log (0 for none). */
export function chainAt(log: readonly LogEntry[], lsn: number): number | null {
  if (lsn === 0) return 0;
  return log[lsn - 1]?.chain ?? null;
}

export interface DataFile {
  readonly image: PageMap;
  /** The log is redone into this file up to here. */
  readonly checkpointLsn: number;
  /** The file reads consistently only once redo passes this LSN (a rewind fetched newer pages). */
  readonly consistentFromLsn: number;
}

export interface CrashLoss {
  readonly recordsLost: number;
  readonly torn: boolean;
}

export class SimDisk {
  log: LogEntry[] = [];
  /** Records fsynced. */
  durable = 0;
  /** Bytes after the last record left by a crash (a torn write); recovery must drop them. */
  private torn: Buffer | null = null;
  /** The session record as fsynced; a persist effect writes and fsyncs it at once. */
  session: PersistedSession | null = null;
  file: DataFile = { image: EMPTY_PAGE_MAP, checkpointLsn: 0, consistentFromLsn: 0 };
  /** A rewind whose log truncation may be done but whose pages are not yet fetched. */
  journal: RewindPlan | null = null;
  /**
   * The failover intent (the runtime's FAILOVER_INTENT_FILE): set and fsynced before a principal
   * sends FAILOVER, cleared once it is the mirror or its partner turns out to be still the mirror.
   * While it is set the principal keeps users out (952 / 4060), also after a restart.
   */
  failoverIntent = false;
  /** Bumped whenever records leave the log, so checkers re-verify what they cached. */
  truncations = 0;

  get end(): number {
    return this.log.length;
  }

  append(entry: LogEntry): void {
    assert(entry.header.lsn === this.log.length + 1, `appending ${entry.header.lsn} after ${this.log.length}`);
    this.log.push(entry);
  }

  /** fsync: every record written so far is durable. */
  sync(): number {
    this.durable = this.log.length;
    return this.durable;
  }

  /** Truncate the log to `lsn` and fsync; only durable log can be kept. */
  truncate(lsn: number): void {
    assert(lsn <= this.durable, `truncating to ${lsn} keeps log that is not durable (${this.durable})`);
    if (lsn < this.log.length) {
      this.log.length = lsn;
      this.truncations++;
    }
    this.durable = lsn;
  }

  dropUnsynced(): void {
    this.truncate(this.durable);
  }

  checkpoint(image: PageMap, checkpointLsn: number, consistentFromLsn: number): void {
    this.file = { image, checkpointLsn, consistentFromLsn };
  }

  /** Power loss: unsynced records vanish, except a random prefix of them; the next may be torn. */
  crash(prng: Prng): CrashLoss {
    const kept = this.durable + prng.below(this.log.length - this.durable + 1);
    const firstLost = this.log[kept];
    this.torn = firstLost !== undefined && prng.chance(50) ? tornCopy(exactBytes(firstLost), prng) : null;
    const recordsLost = this.log.length - kept;
    if (recordsLost > 0) {
      this.log.length = kept;
      this.truncations++;
    }
    return { recordsLost, torn: this.torn !== null };
  }

  /**
   * Startup scan: validate every record with the real decoders; the first invalid one is the
   * end of the log (a torn tail), unless it lies in the durable part (corruption: fatal).
   * What is kept is fsynced. Returns whether a torn tail was dropped.
   */
  recover(): boolean {
    const raw = this.log.map((entry) => entry.bytes);
    if (this.torn !== null) raw.push(this.torn);
    const entries: LogEntry[] = [];
    for (const bytes of raw) {
      const entry = decodeEntry(bytes, entries.at(-1));
      if (typeof entry === "string") {
        if (entries.length < this.durable) throw new Error(`log corrupt at LSN ${entries.length + 1}: ${entry}`);
        break;
      }
      entries.push(entry);
    }
    const tornDropped = entries.length < raw.length;
    this.log = entries;
    this.torn = null;
    this.durable = entries.length;
    return tornDropped;
  }

  /** The database as of `lsn`, read from the log (the storage service's snapshot at one LSN). */
  imageAt(lsn: number): PageMap {
    assert(lsn <= this.log.length, `no snapshot at ${lsn} beyond the log's ${this.log.length}`);
    let image = EMPTY_PAGE_MAP;
    for (let i = 0; i < lsn; i++) image = redoIntoPageMap(image, this.log[i]!.header, this.log[i]!.pages);
    return image;
  }
}

function tornCopy(bytes: Buffer, prng: Prng): Buffer {
  if (prng.chance(50)) return Buffer.from(bytes.subarray(0, 1 + prng.below(bytes.length - 1)));
  const copy = Buffer.from(bytes);
  const at = prng.below(copy.length);
  copy[at] = copy[at]! ^ (1 + prng.below(255));
  return copy;
}
