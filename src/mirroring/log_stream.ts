// Log-stream codec: how a log record travels from principal to mirror (DESIGN.md §5). Pure: no
// I/O, no clock. A page may travel as a delta against the previous image of the same page when
// both ends hold that image in an identical bounded cache; the mirror gets back the exact record
// bytes (header, body and CRCs as the principal hardened them) and its log stores whole pages.
//
// Wire block, format version 3 (little-endian):
//   0 version u8 (= 3) | 1 flags u8 (bit 0 DEFLATED: the rest is deflateRaw of the inner block;
//   other bits must be 0) | 2 inner block (or its raw deflate)
// Inner block:
//   record header, RECORD_HEADER_BYTES (88) bytes verbatim (src/log/record.ts)
//   then header.pageCount × page, in the record's order (pgno strictly ascending):
//     pgno u32 | kind u8 | payload
//     kind 0 (WHOLE): the page image, header.pageSize bytes
//     kind 1 (DELTA): baseLsn u32 (low 32 bits of the LSN of the record whose image of this
//                     page is the base: both ends tag each cached image with it)
//                     | runCount u16 | runCount × run
//       run: offset u16 | word u16 (bit 15: COPY; bits 0-14: length) | then
//         literal (bit 15 clear): length bytes, the new image's bytes at offset;
//         copy (bit 15 set): source u16: the new image's bytes at offset are the base image's
//         at source (a cell pointer array shifted by an insert or a delete, which a byte diff
//         would send whole).
//       Runs cover where the new image differs from the cached image of the same pgno, ascending
//       and not overlapping; 1 ≤ length, offset + length ≤ pageSize, source + length ≤ pageSize
//       (u16 offsets suffice: the largest page is 65536 bytes). A delta is sent only when its
//       payload is smaller than the page, so an inner block is never longer than header + body
//       + one kind byte per page.
//   Nothing follows the last page.
//
// Cache: both ends keep the newest full image of up to `cachePages` pgnos (fewer for large pages,
// see CACHE_BYTES_MAX; a page of another size empties it), LRU by pgno. After a
// record, each of its pages in order is (re)inserted as most recently used and the least
// recently used entry is evicted past the bound; lookups while coding a record see the cache as
// it was before the record. Both ends perform the same operations, so their caches stay
// identical as long as every block is decoded, in order, and both use the same `cachePages`.
// reset() empties the cache; call it on both ends on every (re)connect. After a decode error
// the decoder's cache is unchanged, but the encoder's has moved on: the caller must reset both
// ends (reconnect) before sending more blocks.
//
// The decoder trusts nothing: every length is checked before use, a delta against a page it
// does not hold (or holds from another record) is an error, and the rebuilt body must match
// the header's bodyCrc (decodeBody) before the record is returned. The base tag is an LSN, not
// a checksum of the base: it catches a cache out of step at no cost, and the body CRC catches
// anything else. The encoder trusts its input (records this process built or read back through
// the log reader, which verified them), so it checks the header but not the body CRC again.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import {
  RECORD_BODY_BYTES_MAX, RECORD_HEADER_BYTES, decodeBody, decodeHeader, type PageImage, type RecordHeader,
} from "../log/record.js";
import { assert } from "../util/assert.js";

/**
 * 3: a delta run may copy from elsewhere in the base (version 2 had literal runs only; version 1
 * named a delta's base by a CRC of the image instead of an LSN).
 */
export const LOG_STREAM_VERSION = 3;
export const LogStreamFlags = { DEFLATED: 1 } as const;
export const PageKind = { WHOLE: 0, DELTA: 1 } as const;

export interface LogStreamOptions {
  /** Most page images each end caches (both ends must agree); 0 disables deltas. */
  readonly cachePages: number;
  /**
   * Deflate each block when that makes it smaller (default true). A sender that compresses
   * whole messages instead (off the event loop) turns it off; the decoder accepts both.
   */
  readonly deflate?: boolean;
}

export interface DecodeError {
  readonly kind: "log-stream-decode-error";
  readonly reason: string;
}

export function isDecodeError<T extends object>(value: T | DecodeError): value is DecodeError {
  return (value as Partial<DecodeError>).kind === "log-stream-decode-error";
}

function decodeError(reason: string): DecodeError {
  return { kind: "log-stream-decode-error", reason };
}

const BLOCK_PREFIX_BYTES = 2;
const PAGE_PREFIX_BYTES = 5; // pgno u32, kind u8
const DELTA_PREFIX_BYTES = 6; // baseLsn u32, runCount u16
const RUN_PREFIX_BYTES = 4; // offset u16, length u16 (bit 15: copy)
const COPY_SOURCE_BYTES = 2; // source u16, after a copy run's prefix
const RUN_COPY = 0x8000;
const RUN_BYTES_MAX = 0x7fff;
/**
 * The shift a copy run looks for, either way, in bytes: a b-tree page's cell pointer array moves
 * by one 2-byte entry when a cell is inserted before others or deleted. On 7,516 records of
 * interleaved single-row inserts, ±2 explains 295 of 487 differing bytes (shifts up to 16, 314).
 */
const COPY_SHIFT = 2;
/** The shortest copy worth a run: a copy's prefix and source cost 6 bytes, a split literal 4 more. */
const COPY_BYTES_MIN = 12;
/** Runs up to this long are copied byte by byte (see writeDelta). */
const SHORT_RUN_BYTES = 128;
/** Runs closer than this many equal bytes are merged (a run prefix costs 4 bytes). */
const MERGE_GAP = 8;
const MAX_PAGES = Math.floor(RECORD_BODY_BYTES_MAX / (4 + 512));
/** Longest inner block a valid record can produce: bounds inflation of a hostile block. */
const INNER_BYTES_MAX = RECORD_HEADER_BYTES + RECORD_BODY_BYTES_MAX + MAX_PAGES;

/**
 * The cache holds at most this many bytes of images: pages of 64 KiB get fewer slots than pages
 * of 4 KiB. Both ends compute the same bound, so their caches stay identical.
 */
const CACHE_BYTES_MAX = 16 * 1024 * 1024;
/** Slots are allocated in chunks of this many as the cache fills (a reset cache costs nothing). */
const SLOTS_PER_CHUNK = 256;

/** A cached page image (a view of its slot, valid until the next put) and its base tag. */
interface CachedPage { readonly image: Buffer; readonly lsnTag: number }

/** A record rebuilt by the decoder: its exact bytes, header and pages (views into `bytes`). */
export interface DecodedRecord {
  readonly bytes: Buffer;
  readonly header: RecordHeader;
  readonly pages: PageImage[];
}

/**
 * Identical on both ends: same operations in the same order give the same contents. Images are
 * copied into fixed slots instead of keeping views of the records they came from: a cache of
 * views kept thousands of record buffers alive, and the major collections that followed cost
 * more than copying a page.
 */
class PageCache {
  /** pgno → slot, least recently used first. */
  private readonly slotOf = new Map<number, number>();
  private readonly lsnTags: number[] = [];
  private chunks: Buffer[] = [];
  private chunkWords: (Uint32Array | null)[] = [];
  private pageSize = 0;
  private slots = 0;
  private slotsUsed = 0;
  constructor(private readonly limit: number) {}

  get(pgno: number): CachedPage | undefined {
    const slot = this.slotOf.get(pgno);
    return slot === undefined ? undefined : { image: this.slotImage(slot), lsnTag: this.lsnTags[slot]! };
  }

  /**
   * Stores a copy of `image` as the most recently used entry, evicting the least recently used
   * one when full. A page of another size than the cached ones empties the cache first.
   */
  put(pgno: number, image: Uint8Array, lsn: number): void {
    const slot = this.take(pgno, image.length, lsn);
    if (slot >= 0) this.slotImage(slot).set(image);
  }

  /** As put(), copying the image from `source` at `offset` (the encoder's record). */
  putFrom(pgno: number, source: Buffer, offset: number, pageSize: number, lsn: number): void {
    const slot = this.take(pgno, pageSize, lsn);
    if (slot < 0) return;
    const index = Math.floor(slot / SLOTS_PER_CHUNK);
    source.copy(this.chunk(index), (slot % SLOTS_PER_CHUNK) * pageSize, offset, offset + pageSize);
  }

  /** The slot `pgno` is (re)stored in as most recently used, its tag set; -1 with no cache. */
  private take(pgno: number, pageSize: number, lsn: number): number {
    if (this.limit === 0) return -1;
    if (pageSize !== this.pageSize) this.resize(pageSize);
    let slot = this.slotOf.get(pgno);
    if (slot !== undefined) {
      this.slotOf.delete(pgno);
    } else if (this.slotsUsed < this.slots) {
      slot = this.slotsUsed++;
    } else {
      const [oldest, freed] = this.slotOf.entries().next().value as [number, number];
      this.slotOf.delete(oldest);
      slot = freed;
    }
    this.slotOf.set(pgno, slot);
    this.lsnTags[slot] = lsn >>> 0;
    return slot;
  }

  /**
   * The encoder's view of a cached image, without allocating: the slot's chunk, offset, 32-bit
   * view and base tag go into `into`. False when `pgno` is not cached at `pageSize`.
   */
  lookup(pgno: number, pageSize: number, into: DeltaPages): boolean {
    const slot = this.slotOf.get(pgno);
    if (slot === undefined || pageSize !== this.pageSize) return false;
    const index = Math.floor(slot / SLOTS_PER_CHUNK);
    into.b = this.chunk(index);
    into.bw = this.chunkWords[index]!;
    into.bOff = (slot % SLOTS_PER_CHUNK) * pageSize;
    into.lsnTag = this.lsnTags[slot]!;
    return true;
  }

  keys(): number[] {
    return [...this.slotOf.keys()];
  }

  clear(): void {
    this.slotOf.clear();
    this.slotsUsed = 0;
  }

  private resize(pageSize: number): void {
    this.clear();
    this.chunks = [];
    this.chunkWords = [];
    this.pageSize = pageSize;
    this.slots = Math.max(1, Math.min(this.limit, Math.floor(CACHE_BYTES_MAX / pageSize)));
  }

  private slotImage(slot: number): Buffer {
    const chunk = this.chunk(Math.floor(slot / SLOTS_PER_CHUNK));
    const at = (slot % SLOTS_PER_CHUNK) * this.pageSize;
    return chunk.subarray(at, at + this.pageSize);
  }

  /** Chunk `index`, allocated on first use (a chunk is its own ArrayBuffer: 4-byte aligned). */
  private chunk(index: number): Buffer {
    let chunk = this.chunks[index];
    if (chunk === undefined) {
      chunk = Buffer.alloc(Math.min(SLOTS_PER_CHUNK, this.slots - index * SLOTS_PER_CHUNK) * this.pageSize);
      this.chunks[index] = chunk;
      this.chunkWords[index] = wordsOf(chunk);
    }
    return chunk;
  }
}

function checkOptions(options: LogStreamOptions): number {
  assert(Number.isSafeInteger(options.cachePages) && options.cachePages >= 0,
    `bad cachePages ${options.cachePages}`);
  return options.cachePages;
}

export class LogStreamEncoder {
  private readonly cache: PageCache;
  private readonly deflate: boolean;
  private scratch = Buffer.allocUnsafe(0);
  private readonly pages: DeltaPages = { a: EMPTY, aOff: 0, aw: null, b: EMPTY, bOff: 0, bw: null, pageSize: 0, lsnTag: 0 };

  constructor(options: LogStreamOptions) {
    this.cache = new PageCache(checkOptions(options));
    this.deflate = options.deflate ?? true;
  }

  /** Encodes one record (exact bytes: header + body, no padding) as one wire block. */
  encode(record: Buffer): Buffer {
    const header = decodeHeader(record);
    assert(typeof header !== "string", `encoding a bad record: ${String(header)}`);
    const { pageSize, pageCount } = header;
    assert(record.length === RECORD_HEADER_BYTES + header.bodyBytes && header.bodyBytes === pageCount * (4 + pageSize),
      `record is ${record.length} bytes, header says ${RECORD_HEADER_BYTES + header.bodyBytes}`);

    const out = this.scratchOf(BLOCK_PREFIX_BYTES + RECORD_HEADER_BYTES + pageCount * (PAGE_PREFIX_BYTES + pageSize));
    out[0] = LOG_STREAM_VERSION;
    out[1] = 0;
    record.copy(out, BLOCK_PREFIX_BYTES, 0, RECORD_HEADER_BYTES);
    // Pages are read in place (no views): the record's bytes are `a`, each cached base is `b`.
    const pages = this.pages;
    pages.a = record;
    pages.aw = wordsOf(record);
    pages.pageSize = pageSize;
    let pos = BLOCK_PREFIX_BYTES + RECORD_HEADER_BYTES;
    let previousPgno = 0;
    for (let n = 0, at = RECORD_HEADER_BYTES; n < pageCount; n++, at += 4 + pageSize) {
      const pgno = record.readUInt32LE(at);
      assert(pgno > previousPgno, `encoding a bad record: page numbers not ascending at ${pgno}`);
      previousPgno = pgno;
      out.writeUInt32LE(pgno, pos);
      pages.aOff = at + 4;
      const written = this.cache.lookup(pgno, pageSize, pages) ? writeDelta(out, pos + PAGE_PREFIX_BYTES, pages) : 0;
      if (written > 0) {
        out[pos + 4] = PageKind.DELTA;
        pos += PAGE_PREFIX_BYTES + written;
      } else {
        out[pos + 4] = PageKind.WHOLE;
        record.copy(out, pos + PAGE_PREFIX_BYTES, at + 4, at + 4 + pageSize);
        pos += PAGE_PREFIX_BYTES + pageSize;
      }
    }
    for (let n = 0, at = RECORD_HEADER_BYTES; n < pageCount; n++, at += 4 + pageSize) {
      this.cache.putFrom(record.readUInt32LE(at), record, at + 4, pageSize, header.lsn);
    }
    pages.a = pages.b = EMPTY; // no record or chunk stays reachable from here

    const plain = out.subarray(0, pos);
    if (!this.deflate) return Buffer.from(plain);
    const deflated = deflateRawSync(plain.subarray(BLOCK_PREFIX_BYTES), { level: 1 });
    if (deflated.length >= pos - BLOCK_PREFIX_BYTES) return Buffer.from(plain);
    const block = Buffer.allocUnsafe(BLOCK_PREFIX_BYTES + deflated.length);
    block[0] = LOG_STREAM_VERSION;
    block[1] = LogStreamFlags.DEFLATED;
    deflated.copy(block, BLOCK_PREFIX_BYTES);
    return block;
  }

  /** Empties the cache: on every (re)connect, together with the decoder's reset(). */
  reset(): void {
    this.cache.clear();
  }

  /** Cached pgnos, least recently used first (diagnostics and tests). */
  cachedPgnos(): number[] {
    return this.cache.keys();
  }

  /**
   * The buffer a block is built in, reused from record to record: a block is mostly a few
   * hundred bytes of deltas, and allocating room for whole pages each time cost more than
   * building it. The block returned is a copy of what was used.
   */
  private scratchOf(bytes: number): Buffer {
    if (this.scratch.length < bytes) this.scratch = Buffer.allocUnsafe(Math.max(bytes, 2 * this.scratch.length));
    return this.scratch;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The two images a delta compares, in place: the new one at `aOff` in `a` (the record), the
 * cached base at `bOff` in `b` (its cache chunk), with 32-bit views of the whole buffers when
 * they are 4-byte aligned. One per encoder, refilled for each page.
 */
interface DeltaPages {
  a: Buffer;
  aOff: number;
  aw: Uint32Array | null;
  b: Buffer;
  bOff: number;
  bw: Uint32Array | null;
  pageSize: number;
  lsnTag: number;
}

/**
 * Writes a delta payload of the new image against the base at `pos` and returns its length, or
 * 0 when it would not be smaller than the page (the caller then sends the whole page; `out` has
 * room for a whole page at `pos`, and a delta that fits is smaller than that).
 */
function writeDelta(out: Buffer, pos: number, p: DeltaPages): number {
  const { a, b, aOff, bOff, pageSize } = p;
  const delta: DeltaWriter = { out, at: pos + DELTA_PREFIX_BYTES, limit: pos + pageSize, runs: 0 };
  let i = nextDifference(p, 0, pageSize);
  while (i < pageSize) {
    const start = i;
    let end = i + 1; // one past the last differing byte of this stretch
    for (i++; i < pageSize && i - end < MERGE_GAP && i - start < RUN_BYTES_MAX; i++) {
      if (a[aOff + i] !== b[bOff + i]) end = i + 1;
    }
    if (!writeStretch(delta, p, start, end)) return 0;
    i = nextDifference(p, end, pageSize);
  }
  // runs < pageSize / RUN_PREFIX_BYTES ≤ 16384: fits u16.
  out.writeUInt32LE(p.lsnTag, pos);
  out.writeUInt16LE(delta.runs, pos + 4);
  return delta.at - pos;
}

/** Where a delta is being written: `limit` is where it would no longer be smaller than the page. */
interface DeltaWriter { readonly out: Buffer; at: number; readonly limit: number; runs: number }

/**
 * Writes the differing stretch [start, end) as runs: copies where it is the base shifted by
 * ±COPY_SHIFT for at least COPY_BYTES_MIN bytes, literals elsewhere. False: the delta has
 * grown to the page's size.
 */
function writeStretch(delta: DeltaWriter, p: DeltaPages, start: number, end: number): boolean {
  const { a, b, aOff, bOff } = p;
  let literal = start;
  for (let k = start; k + COPY_BYTES_MIN <= end;) {
    // Most positions fail at the first byte: test it before calling (k + 2 < end ≤ pageSize).
    const right = k >= COPY_SHIFT && a[aOff + k] === b[bOff + k - COPY_SHIFT] ? matchLength(p, k, end, k - COPY_SHIFT) : 0;
    const left = a[aOff + k] === b[bOff + k + COPY_SHIFT] ? matchLength(p, k, end, k + COPY_SHIFT) : 0;
    const length = Math.max(right, left);
    if (length < COPY_BYTES_MIN) {
      k++;
      continue;
    }
    const source = right >= left ? k - COPY_SHIFT : k + COPY_SHIFT;
    if (k > literal && !writeLiteral(delta, p, literal, k)) return false;
    if (delta.at + RUN_PREFIX_BYTES + COPY_SOURCE_BYTES >= delta.limit) return false;
    const { out, at } = delta;
    out.writeUInt16LE(k, at);
    out.writeUInt16LE(RUN_COPY | length, at + 2);
    out.writeUInt16LE(source, at + 4);
    delta.at += RUN_PREFIX_BYTES + COPY_SOURCE_BYTES;
    delta.runs++;
    k += length;
    literal = k;
  }
  return end > literal ? writeLiteral(delta, p, literal, end) : true;
}

/** How many bytes of the new image from `k` (before `end`) equal the base's from `source`. */
function matchLength(p: DeltaPages, k: number, end: number, source: number): number {
  const { a, b, aOff, bOff } = p;
  const max = Math.min(end - k, p.pageSize - source);
  let m = 0;
  while (m < max && a[aOff + k + m] === b[bOff + source + m]) m++;
  return m;
}

function writeLiteral(delta: DeltaWriter, p: DeltaPages, start: number, end: number): boolean {
  const length = end - start;
  const { out, at } = delta;
  if (at + RUN_PREFIX_BYTES + length >= delta.limit) return false;
  out[at] = start & 0xff;
  out[at + 1] = start >>> 8;
  out[at + 2] = length & 0xff;
  out[at + 3] = length >>> 8;
  // Runs are mostly tens of bytes: a plain loop beats a native copy call for those.
  const { a, aOff } = p;
  if (length <= SHORT_RUN_BYTES) for (let k = 0; k < length; k++) out[at + RUN_PREFIX_BYTES + k] = a[aOff + start + k]!;
  else a.copy(out, at + RUN_PREFIX_BYTES, aOff + start, aOff + end);
  delta.at += RUN_PREFIX_BYTES + length;
  delta.runs++;
  return true;
}

/** A 32-bit view of a whole buffer when it starts 4-byte aligned (null otherwise). */
function wordsOf(bytes: Buffer): Uint32Array | null {
  return bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null;
}

/**
 * The first index ≥ from where the images differ, or `end`. Most of a page is equal: it is
 * compared a 32-bit word at a time in a plain loop, which costs less than calling memcmp on
 * chunks from JavaScript; bytes only at the edges. Words need both images 4-byte aligned
 * (record pages are: header 88 + pgno 4; cache slots are).
 */
function nextDifference(p: DeltaPages, from: number, end: number): number {
  const { a, b, aOff, bOff, aw, bw } = p;
  let i = from;
  if (aw !== null && bw !== null && (aOff & 3) === 0 && (bOff & 3) === 0) {
    for (; i < end && (i & 3) !== 0; i++) if (a[aOff + i] !== b[bOff + i]) return i;
    const aWord = aOff >>> 2;
    const bWord = bOff >>> 2;
    const wordEnd = end >>> 2;
    let w = i >>> 2;
    while (w < wordEnd && aw[aWord + w] === bw[bWord + w]) w++;
    i = w << 2;
  }
  while (i < end && a[aOff + i] === b[bOff + i]) i++;
  return i;
}

export class LogStreamDecoder {
  private readonly cache: PageCache;

  constructor(options: LogStreamOptions) {
    this.cache = new PageCache(checkOptions(options));
  }

  /**
   * Rebuilds the exact record bytes from one wire block, or returns why it cannot. Never throws
   * on bad input; on error the cache is left as it was.
   */
  decode(block: Buffer): Buffer | DecodeError {
    const decoded = this.decodeRecord(block);
    return isDecodeError(decoded) ? decoded : decoded.bytes;
  }

  /** As decode(), with the header and pages it checked (the mirror appends and redoes them as they are). */
  decodeRecord(block: Buffer): DecodedRecord | DecodeError {
    if (block.length < BLOCK_PREFIX_BYTES) return decodeError("short block");
    if (block[0] !== LOG_STREAM_VERSION) return decodeError(`unknown block version ${block[0]}`);
    const flags = block[1]!;
    if ((flags & ~LogStreamFlags.DEFLATED) !== 0) return decodeError(`unknown block flags ${flags}`);
    let inner: Buffer = block.subarray(BLOCK_PREFIX_BYTES);
    if ((flags & LogStreamFlags.DEFLATED) !== 0) {
      try {
        inner = inflateRawSync(inner, { maxOutputLength: INNER_BYTES_MAX });
      } catch (error) {
        return decodeError(`bad deflated block: ${error instanceof Error ? error.message : "?"}`);
      }
    }
    return this.decodeInner(inner);
  }

  private decodeInner(inner: Buffer): DecodedRecord | DecodeError {
    const header = decodeHeader(inner);
    if (typeof header === "string") return decodeError(header);
    const { pageSize, pageCount } = header;
    const minInner = RECORD_HEADER_BYTES + pageCount * (PAGE_PREFIX_BYTES + DELTA_PREFIX_BYTES);
    if (inner.length < minInner) return decodeError("block too short for its page count");

    // Every byte is written below (header, then each page number and whole image) before it is returned.
    const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + header.bodyBytes);
    inner.copy(record, 0, 0, RECORD_HEADER_BYTES);
    let pos = RECORD_HEADER_BYTES;
    let out = RECORD_HEADER_BYTES;
    let previousPgno = 0;
    for (let n = 0; n < pageCount; n++) {
      if (pos + PAGE_PREFIX_BYTES > inner.length) return decodeError(`page ${n} truncated`);
      const pgno = inner.readUInt32LE(pos);
      const kind = inner[pos + 4];
      pos += PAGE_PREFIX_BYTES;
      if (pgno <= previousPgno) return decodeError(`page numbers not ascending at ${pgno}`);
      previousPgno = pgno;
      record.writeUInt32LE(pgno, out);
      const image = record.subarray(out + 4, out + 4 + pageSize);
      out += 4 + pageSize;
      if (kind === PageKind.WHOLE) {
        if (pos + pageSize > inner.length) return decodeError(`page ${pgno} truncated`);
        inner.copy(image, 0, pos, pos + pageSize);
        pos += pageSize;
      } else if (kind === PageKind.DELTA) {
        const result = applyDelta(inner, pos, this.cache.get(pgno), image, pgno);
        if (typeof result === "string") return decodeError(result);
        pos = result;
      } else {
        return decodeError(`unknown page kind ${kind} for page ${pgno}`);
      }
    }
    if (pos !== inner.length) return decodeError(`${inner.length - pos} bytes after the last page`);
    const pages = decodeBody(header, record.subarray(RECORD_HEADER_BYTES));
    if (typeof pages === "string") return decodeError(pages);
    for (const page of pages) this.cache.put(page.pgno, page.data, header.lsn);
    return { bytes: record, header, pages };
  }

  /** Empties the cache: on every (re)connect, together with the encoder's reset(). */
  reset(): void {
    this.cache.clear();
  }

  /** Cached pgnos, least recently used first (diagnostics and tests). */
  cachedPgnos(): number[] {
    return this.cache.keys();
  }
}

/** Applies the delta at `pos` onto `image`; returns the position after it, or a reason. */
function applyDelta(inner: Buffer, pos: number, base: CachedPage | undefined, image: Uint8Array,
  pgno: number): number | string {
  const pageSize = image.length;
  if (pos + DELTA_PREFIX_BYTES > inner.length) return `delta for page ${pgno} truncated`;
  if (base === undefined) return `delta for page ${pgno}, which is not cached (cache out of step)`;
  if (base.image.length !== pageSize || base.lsnTag !== inner.readUInt32LE(pos)) {
    return `delta for page ${pgno} against another image (cache out of step)`;
  }
  const runs = inner.readUInt16LE(pos + 4);
  pos += DELTA_PREFIX_BYTES;
  image.set(base.image);
  let previousEnd = 0;
  for (let r = 0; r < runs; r++) {
    if (pos + RUN_PREFIX_BYTES > inner.length) return `delta for page ${pgno} truncated`;
    const offset = inner[pos]! | (inner[pos + 1]! << 8);
    const word = inner[pos + 2]! | (inner[pos + 3]! << 8);
    const length = word & RUN_BYTES_MAX;
    pos += RUN_PREFIX_BYTES;
    if (length === 0 || offset < previousEnd || offset + length > pageSize) {
      return `bad delta run ${offset}+${length} for page ${pgno}`;
    }
    previousEnd = offset + length;
    if ((word & RUN_COPY) !== 0) {
      if (pos + COPY_SOURCE_BYTES > inner.length) return `delta for page ${pgno} truncated`;
      const source = inner[pos]! | (inner[pos + 1]! << 8);
      if (source + length > pageSize) return `bad delta copy from ${source}+${length} for page ${pgno}`;
      // From the base, not from `image`: earlier runs have already changed the latter.
      image.set(base.image.subarray(source, source + length), offset);
      pos += COPY_SOURCE_BYTES;
      continue;
    }
    if (pos + length > inner.length) return `delta for page ${pgno} truncated`;
    if (length <= SHORT_RUN_BYTES) for (let k = 0; k < length; k++) image[offset + k] = inner[pos + k]!;
    else inner.copy(image, offset, pos, pos + length);
    pos += length;
  }
  return pos;
}
