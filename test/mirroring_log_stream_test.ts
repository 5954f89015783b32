// Goal: the log-stream codec gives the mirror back every record byte-identical, ships a
// single-row insert in a few hundred bytes by sending page deltas, keeps the two page caches
// identical (eviction, reset on reconnect), and turns a missed block, truncation or garbage into
// an error value, never a wrong record or a throw.
import { test } from "node:test";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import assert from "node:assert/strict";
import {
  NO_WAL_POSITION, RECORD_HEADER_BYTES, RecordFlags, encodeRecord, stampDurableLsn,
  type PageImage,
} from "../src/log/record.js";
import {
  LOG_STREAM_VERSION, LogStreamDecoder, LogStreamEncoder, isDecodeError, type DecodeError,
} from "../src/mirroring/log_stream.js";
import { Prng } from "./support/workload.js";

/** The exact record bytes (header + body, no padding), as readLogRaw yields them. */
function makeRecord(lsn: number, pageSize: number, pages: PageImage[]): Buffer {
  const sorted = [...pages].sort((a, b) => a.pgno - b.pgno);
  const padded = encodeRecord({
    flags: RecordFlags.FIRST | RecordFlags.LAST, epoch: 3, pageSize, lsn, prevLsn: lsn - 1,
    dbSizePages: Math.max(...sorted.map((p) => p.pgno)), wal: NO_WAL_POSITION,
    commitTimeMs: 1_700_000_000_000 + lsn * 7, pages: sorted,
  });
  stampDurableLsn(padded, lsn, lsn - 1);
  return padded.subarray(0, RECORD_HEADER_BYTES + sorted.length * (4 + pageSize));
}

function randomBytes(prng: Prng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = prng.next() & 0xff;
  return out;
}

/** A new image of `page`: a few small random edits (what a row change does to a b-tree page). */
function mutate(prng: Prng, page: Uint8Array, edits: number, maxLength: number): Uint8Array {
  const next = new Uint8Array(page);
  for (let e = 0; e < edits; e++) {
    const length = 1 + prng.below(maxLength);
    const offset = prng.below(page.length - Math.min(length, page.length - 1));
    next.set(randomBytes(prng, Math.min(length, page.length - offset)), offset);
  }
  return next;
}

/**
 * `page` with a 2-byte entry inserted at `at` into the array that ends at `end` (a cell pointer
 * array): the entries after it move up by 2 bytes.
 */
function insertEntry(page: Uint8Array, at: number, end: number, entry: number): Uint8Array {
  const next = new Uint8Array(page);
  next.set(page.subarray(at, end), at + 2);
  next[at] = entry >>> 8;
  next[at + 1] = entry & 0xff;
  return next;
}

function roundTrip(encoder: LogStreamEncoder, decoder: LogStreamDecoder, record: Buffer): Buffer {
  const block = encoder.encode(record);
  const decoded = decoder.decode(block);
  assert.ok(Buffer.isBuffer(decoded), `decode failed: ${(decoded as DecodeError).reason}`);
  assert.ok(decoded.equals(record), "decoded record differs from the original");
  return block;
}

/** The same block without deflate (the format allows either). */
function plainForm(block: Buffer): Buffer {
  if (block[1] === 0) return Buffer.from(block);
  return Buffer.concat([Buffer.from([LOG_STREAM_VERSION, 0]), inflateRawSync(block.subarray(2))]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

test("single-row inserts ship as small deltas", (t) => {
  const pageSize = 4096;
  const prng = new Prng(7);
  const encoder = new LogStreamEncoder({ cachePages: 4096 });
  const decoder = new LogStreamDecoder({ cachePages: 4096 });
  // A b-tree: root (pgno 2) points at leaves; rows go to the last leaf until it is full.
  const db = new Map<number, Uint8Array>([[2, new Uint8Array(pageSize)]]);
  let leaf = 3;
  let cells = 0;
  let contentStart = pageSize;
  db.set(leaf, new Uint8Array(pageSize));
  const sizes: number[] = [];
  let newPages = 0;
  for (let lsn = 1; lsn <= 1000; lsn++) {
    const cellBytes = 30 + prng.below(40);
    const touched = new Set<number>([leaf]);
    if (contentStart - cellBytes < 8 + 2 * (cells + 1) + 64) {
      const root = new Uint8Array(db.get(2)!);
      const view = Buffer.from(root.buffer);
      view.writeUInt32LE(leaf, 12 + 4 * (leaf - 3)); // a new child pointer
      view.writeUInt16LE(leaf - 2, 3);
      db.set(2, root);
      touched.add(2);
      leaf++;
      newPages++;
      cells = 0;
      contentStart = pageSize;
      db.set(leaf, new Uint8Array(pageSize));
      touched.add(leaf);
    }
    const page = new Uint8Array(db.get(leaf)!);
    const view = Buffer.from(page.buffer);
    contentStart -= cellBytes;
    page.set(randomBytes(prng, cellBytes), contentStart);
    view.writeUInt16LE(contentStart, 8 + 2 * cells);
    cells++;
    page[0] = 0x0d;
    view.writeUInt16LE(cells, 3);
    view.writeUInt16LE(contentStart, 5);
    db.set(leaf, page);
    const record = makeRecord(lsn, pageSize, [...touched].map((pgno) => ({ pgno, data: db.get(pgno)! })));
    sizes.push(roundTrip(encoder, decoder, record).length);
  }
  const med = median(sizes);
  t.diagnostic(`1000 single-row inserts (pageSize 4096, ${newPages} new leaves): median ` +
    `${med} bytes per record on the wire, max ${Math.max(...sizes)}, record is ` +
    `${RECORD_HEADER_BYTES + 4 + pageSize} bytes`);
  console.log(`median wire bytes per single-row insert: ${med}`);
  assert.ok(newPages >= 5, "the workload allocates new pages");
  assert.ok(med < 250, `median ${med} bytes is not well under 500`);
});

test("inserts in the middle of a page: the shifted cell pointers travel as a copy run", (t) => {
  // An index leaf: keys arrive in random order, so each new cell's pointer goes into the middle
  // of the sorted pointer array and the entries after it move up by 2 bytes.
  const pageSize = 4096;
  const prng = new Prng(23);
  const encoder = new LogStreamEncoder({ cachePages: 16, deflate: false });
  const decoder = new LogStreamDecoder({ cachePages: 16 });
  let page: Uint8Array = new Uint8Array(pageSize);
  let cells = 0;
  let contentStart = pageSize;
  const sizes: number[] = [];
  for (let lsn = 1; cells < 400; lsn++) {
    const cellBytes = 6;
    contentStart -= cellBytes;
    const at = 8 + 2 * prng.below(cells + 1);
    page = insertEntry(page, at, 8 + 2 * cells, contentStart);
    page.set(randomBytes(prng, cellBytes), contentStart);
    cells++;
    Buffer.from(page.buffer).writeUInt16BE(cells, 3);
    sizes.push(roundTrip(encoder, decoder, makeRecord(lsn, pageSize, [{ pgno: 5, data: page }])).length);
  }
  const med = median(sizes.slice(1));
  t.diagnostic(`400 inserts at random positions of a pointer array: median ${med} bytes per record`);
  // As literal bytes, the moved entries alone would be 400 bytes at the median.
  assert.ok(med < RECORD_HEADER_BYTES + 60, `median ${med} bytes: the moved entries were not sent as a copy`);
});

test("random pages and deltas round-trip byte-identical at every page size", () => {
  const prng = new Prng(11);
  for (let pageSize = 512; pageSize <= 65536; pageSize *= 2) {
    const encoder = new LogStreamEncoder({ cachePages: 16 });
    const decoder = new LogStreamDecoder({ cachePages: 16 });
    const db = new Map<number, Uint8Array>();
    let deltas = 0;
    const maxPages = Math.min(6, Math.floor(4 * 1024 * 1024 / (4 + pageSize)));
    for (let lsn = 1; lsn <= 60; lsn++) {
      const pages = new Map<number, Uint8Array>();
      const count = 1 + prng.below(maxPages);
      for (let n = 0; n < count; n++) {
        const pgno = 1 + prng.below(24);
        const old = db.get(pgno) ?? new Uint8Array(pageSize);
        const roll = prng.below(6);
        const image = roll === 0 ? randomBytes(prng, pageSize) // unrelated image: whole page
          : roll === 1 ? new Uint8Array(old) // unchanged: a delta with no runs
            : roll === 2 ? mutate(prng, old, 200, pageSize / 8) // large change: falls back
              : mutate(prng, old, 1 + prng.below(6), 1 + prng.below(40));
        if (roll === 5) { image[0] = (old[0]! ^ 1); image[pageSize - 1] = (old[pageSize - 1]! ^ 1); }
        pages.set(pgno, image);
      }
      for (const [pgno, data] of pages) db.set(pgno, data);
      const record = makeRecord(lsn, pageSize, [...pages].map(([pgno, data]) => ({ pgno, data })));
      const block = roundTrip(encoder, decoder, record);
      if (block.length < record.length / 2) deltas++;
    }
    assert.ok(deltas > 10, `page size ${pageSize}: deltas used (${deltas} small blocks)`);
    assert.deepEqual(encoder.cachedPgnos(), decoder.cachedPgnos());
  }
});

test("a tiny cache evicts identically on both sides", () => {
  const prng = new Prng(23);
  const pageSize = 1024;
  const encoder = new LogStreamEncoder({ cachePages: 2 });
  const decoder = new LogStreamDecoder({ cachePages: 2 });
  const db = new Map<number, Uint8Array>();
  let small = 0;
  for (let lsn = 1; lsn <= 600; lsn++) {
    const pages = new Map<number, Uint8Array>();
    const count = 1 + prng.below(3);
    for (let n = 0; n < count; n++) {
      const pgno = 1 + prng.below(prng.below(4) === 0 ? 40 : 4);
      const old = db.get(pgno) ?? randomBytes(prng, pageSize);
      pages.set(pgno, mutate(prng, old, 1 + prng.below(3), 16));
    }
    for (const [pgno, data] of pages) db.set(pgno, data);
    const record = makeRecord(lsn, pageSize, [...pages].map(([pgno, data]) => ({ pgno, data })));
    const block = roundTrip(encoder, decoder, record);
    if (block.length < record.length / 2) small++;
    const keys = encoder.cachedPgnos();
    assert.ok(keys.length <= 2);
    assert.deepEqual(keys, decoder.cachedPgnos());
  }
  assert.ok(small > 50, `deltas still used under eviction (${small})`);

  // cachePages 0: never a delta, still byte-identical.
  const e0 = new LogStreamEncoder({ cachePages: 0 });
  const d0 = new LogStreamDecoder({ cachePages: 0 });
  const page = randomBytes(prng, pageSize);
  for (let lsn = 1; lsn <= 3; lsn++) {
    const block = roundTrip(e0, d0, makeRecord(lsn, pageSize, [{ pgno: 1, data: page }]));
    assert.ok(block.length > pageSize);
  }
});

test("reset on both sides after a reconnect resynchronizes the caches", () => {
  const prng = new Prng(31);
  const pageSize = 4096;
  const encoder = new LogStreamEncoder({ cachePages: 64 });
  const decoder = new LogStreamDecoder({ cachePages: 64 });
  let page = randomBytes(prng, pageSize);
  let lsn = 0;
  const next = (): Buffer => {
    page = mutate(prng, page, 2, 20);
    lsn++;
    return makeRecord(lsn, pageSize, [{ pgno: 5, data: page }]);
  };
  assert.ok(roundTrip(encoder, decoder, next()).length > pageSize, "first sight: the whole page");
  for (let i = 0; i < 10; i++) assert.ok(roundTrip(encoder, decoder, next()).length < 400);
  encoder.encode(next()); // sent, but the connection dropped before the mirror got it
  encoder.reset();
  decoder.reset();
  assert.deepEqual(decoder.cachedPgnos(), []);
  assert.ok(roundTrip(encoder, decoder, next()).length > pageSize, "after a reset: the whole page");
  for (let i = 0; i < 10; i++) assert.ok(roundTrip(encoder, decoder, next()).length < 400);
});

test("a decoder that missed a block returns an error, never a wrong record", () => {
  const prng = new Prng(43);
  const pageSize = 4096;
  const encoder = new LogStreamEncoder({ cachePages: 64 });
  const decoder = new LogStreamDecoder({ cachePages: 64 });
  let page = randomBytes(prng, pageSize);
  const records: Buffer[] = [];
  for (let lsn = 1; lsn <= 4; lsn++) {
    page = mutate(prng, page, 2, 20);
    records.push(makeRecord(lsn, pageSize, [{ pgno: 9, data: page }]));
  }
  const blocks = records.map((r) => encoder.encode(r));
  assert.ok(Buffer.isBuffer(decoder.decode(blocks[0]!)));
  const missed = decoder.decode(blocks[2]!); // block 1 was lost
  assert.ok(isDecodeError(missed));
  assert.match(missed.reason, /cache out of step/);
  // A decoder that never saw the page at all refuses too.
  const fresh = new LogStreamDecoder({ cachePages: 64 });
  const cold = fresh.decode(blocks[3]!);
  assert.ok(isDecodeError(cold));
  assert.match(cold.reason, /not cached/);
  // The failed decodes left the cache as it was: the lost block, then the rest, decode fine.
  for (let i = 1; i < 4; i++) {
    const decoded = decoder.decode(blocks[i]!);
    assert.ok(Buffer.isBuffer(decoded) && decoded.equals(records[i]!));
  }
  // Wrong bytes inside a delta run: the rebuilt body fails the record's bodyCrc.
  page = mutate(prng, page, 2, 20);
  const record = makeRecord(5, pageSize, [{ pgno: 9, data: page }]);
  const block = encoder.encode(record);
  const tampered = plainForm(block);
  tampered[tampered.length - 1]! ^= 0x40; // the last byte of the last run
  const result = decoder.decode(tampered);
  assert.ok(isDecodeError(result));
  assert.match(result.reason, /body checksum mismatch/);
  assert.ok(decoder.decode(block) instanceof Buffer);
});

test("truncated and damaged blocks at every byte offset return errors without throwing", () => {
  const prng = new Prng(59);
  const pageSize = 512;
  const encoder = new LogStreamEncoder({ cachePages: 8 });
  const a = randomBytes(prng, pageSize);
  const b = randomBytes(prng, pageSize);
  const zeros = new Uint8Array(pageSize);
  zeros[100] = 7;
  const a2 = mutate(prng, a, 3, 10);
  const records = [
    makeRecord(1, pageSize, [{ pgno: 1, data: a }, { pgno: 4, data: b }]), // whole pages
    makeRecord(2, pageSize, [{ pgno: 1, data: a2 }, { pgno: 4, data: mutate(prng, b, 2, 10) }]), // deltas
    makeRecord(3, pageSize, [{ pgno: 2, data: zeros }, { pgno: 3, data: zeros }]), // deflated
    makeRecord(4, pageSize, [{ pgno: 1, data: insertEntry(a2, 100, 300, 0xbeef) }]), // a copy run
  ];
  const kinds = new Set<number>();
  const sent: Buffer[] = [];
  let decoder = new LogStreamDecoder({ cachePages: 8 });
  const resync = (): void => { // a decoder that has seen exactly the blocks sent so far
    decoder = new LogStreamDecoder({ cachePages: 8 });
    for (const block of sent) assert.ok(Buffer.isBuffer(decoder.decode(block)));
  };
  for (const record of records) {
    const block = encoder.encode(record);
    kinds.add(block[1]!);
    for (const form of new Set([block, plainForm(block)])) {
      const deflated = form[1] === 1;
      const check = (bad: Buffer, what: string): void => {
        const result = decoder.decode(bad);
        if (isDecodeError(result)) return;
        // Only a deflate stream may shrug off bits it does not use: the record is still exact
        // (and the decoder consumed it, so rebuild the state it had before).
        assert.ok(deflated && result.equals(record), `${what}: decoded a wrong record`);
        resync();
      };
      for (let k = 0; k < form.length; k++) {
        assert.ok(isDecodeError(decoder.decode(form.subarray(0, k))), `truncated at ${k}`);
      }
      check(Buffer.concat([form, Buffer.from([0])]), "trailing byte");
      for (let i = 0; i < form.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const bad = Buffer.from(form);
          bad[i]! ^= mask;
          if (!deflated) assert.ok(isDecodeError(decoder.decode(bad)), `byte ${i} ^ ${mask}`);
          else check(bad, `byte ${i} ^ ${mask}`);
        }
      }
    }
    const decoded = decoder.decode(block);
    assert.ok(Buffer.isBuffer(decoded) && decoded.equals(record), "the intact block still decodes");
    sent.push(block);
  }
  assert.deepEqual([...kinds].sort(), [0, 1], "both plain and deflated blocks were exercised");
  // Pure garbage, with and without a plausible prefix.
  for (let n = 0; n < 3000; n++) {
    const garbage = Buffer.from(randomBytes(prng, prng.below(700)));
    if (n % 2 === 0 && garbage.length >= 2) { garbage[0] = LOG_STREAM_VERSION; garbage[1] = prng.below(2); }
    assert.ok(isDecodeError(decoder.decode(garbage)));
  }
  // A deflate bomb: inflation stops at the largest inner block a valid record can produce.
  const bomb = Buffer.concat([Buffer.from([LOG_STREAM_VERSION, 1]), deflateRawSync(Buffer.alloc(16 * 1024 * 1024))]);
  const bombed = decoder.decode(bomb);
  assert.ok(isDecodeError(bombed));
  assert.match(bombed.reason, /bad deflated block/);
  // A plausible header followed by garbage (the header CRC holds; the pages do not).
  const header = records[0]!.subarray(0, RECORD_HEADER_BYTES);
  for (let n = 0; n < 500; n++) {
    const tail = randomBytes(prng, prng.below(2 * (pageSize + 5) + 20));
    if (tail.length >= 5) tail[4] = prng.below(3);
    assert.ok(isDecodeError(decoder.decode(Buffer.concat([Buffer.from([LOG_STREAM_VERSION, 0]), header, tail]))));
  }
});

test("the encoder refuses a record that is not exact", () => {
  const encoder = new LogStreamEncoder({ cachePages: 4 });
  const record = makeRecord(1, 512, [{ pgno: 1, data: new Uint8Array(512) }]);
  assert.throws(() => encoder.encode(Buffer.concat([record, Buffer.alloc(4)])), /record is/);
  assert.throws(() => encoder.encode(Buffer.concat([Buffer.alloc(4), record]).subarray(4, 80)), /bad record|record is/);
  assert.deepEqual(encoder.cachedPgnos(), []);
  // The encoder trusts the body of a record this process built (it checks the header only);
  // a body damaged anyway is caught where it matters, by the decoder's bodyCrc check.
  const damaged = Buffer.from(record);
  damaged[RECORD_HEADER_BYTES + 10]! ^= 1;
  const result = new LogStreamDecoder({ cachePages: 4 }).decode(encoder.encode(damaged));
  assert.ok(isDecodeError(result));
  assert.match(result.reason, /body checksum mismatch/);
  assert.throws(() => new LogStreamDecoder({ cachePages: -1 }), /cachePages/);
});
