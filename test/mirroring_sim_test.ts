// The deterministic mirroring simulator (src/mirroring/sim): seeds 1…1000 with faults must keep
// every invariant and heal back to SYNCHRONIZED; a seed replays exactly; a broken
// acknowledgement rule is caught. Also: page_redo redoes exactly as src/storage/redo.ts does on
// a real file, and the rewind plan covers every page a shrink could have dropped.
// More seeds: MIRRORLITE_SIM_SEEDS=20000 MIRRORLITE_SIM_STEPS=600, or src/mirroring/sim/run.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NO_WAL_POSITION, RECORD_HEADER_BYTES, RecordFlags, decodeBody, decodeHeader, encodeRecord,
  type PageImage, type RecordHeader } from "../src/log/record.js";
import { EMPTY_PAGE_MAP, firstPageDifference, redoIntoPageMap, type PageMap } from "../src/mirroring/page_redo.js";
import { pagesToFetch, rewindNeedsNoPages, rewindPlan } from "../src/mirroring/rewind.js";
import { SimFailure } from "../src/mirroring/sim/failure.js";
import { Prng } from "../src/util/prng.js";
import { runSeed, type SimResult } from "../src/mirroring/sim/simulator.js";
import { newStats, type SimStats } from "../src/mirroring/sim/stats.js";
import { sessionRules } from "../src/mirroring/session.js";
import { redoRecord } from "../src/storage/redo.js";

const SEEDS = Number(process.env["MIRRORLITE_SIM_SEEDS"] ?? 1000);
const STEPS = Number(process.env["MIRRORLITE_SIM_STEPS"] ?? 300);

test(`simulator: seeds 1..${SEEDS} keep every invariant and heal back to SYNCHRONIZED`, (t) => {
  const seen = newStats();
  const total = newStats();
  const rules = new Set<string>();
  const started = performance.now();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = runSeed({ seed, steps: STEPS }); // throws a SimFailure naming the seed
    for (const key of Object.keys(total) as (keyof SimStats)[]) {
      total[key] += result.stats[key];
      if (result.stats[key] > 0) seen[key]++;
    }
    for (const rule of result.rules) rules.add(rule);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  t.diagnostic(`${SEEDS} seeds × ${STEPS} steps in ${seconds} s`);
  t.diagnostic(`seeds that saw: ${(Object.keys(seen) as (keyof SimStats)[]).map((k) => `${k} ${seen[k]}`).join(", ")}`);
  t.diagnostic(`totals: ${(Object.keys(total) as (keyof SimStats)[]).map((k) => `${k} ${total[k]}`).join(", ")}`);
  const unfired = sessionRules.map((rule) => rule.id).filter((id) => !rules.has(id));
  t.diagnostic(`rows never fired (${unfired.length}/${sessionRules.length}): ${unfired.join(", ")}`);
  for (const key of ["failovers", "crashes", "cuts", "safetyOff", "rewinds", "midEffectCrashes", "tornTails",
    "timeouts", "suspends", "protectedAcks", "partitions"] as const) {
    assert.ok(seen[key] > 0, `no seed saw ${key}`);
  }
  assert.ok(rules.has("principal.start.partner_took_over"), "old principals step down");
  assert.ok(rules.has("mirror.rewind_done"), "rewinds complete");
  assert.ok(rules.has("principal.ack.caught_up"), "catch-up reaches SYNCHRONIZED");
});

test("simulator: a seed replays exactly (same trace), another seed differs", () => {
  const traced = (seed: number): SimResult => runSeed({ seed, steps: STEPS, trace: true });
  const first = traced(29);
  assert.ok(first.trace.length > STEPS);
  assert.deepEqual(traced(29).trace, first.trace);
  assert.deepEqual(traced(29).stats, first.stats);
  assert.notDeepEqual(traced(30).trace, first.trace);
});

test("simulator: acknowledging at local durability under SAFETY FULL is caught", () => {
  let caught: SimFailure | null = null;
  for (let seed = 1; seed <= 1000 && caught === null; seed++) {
    try {
      runSeed({ seed, steps: STEPS, brokenAck: true });
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      caught = error;
    }
  }
  assert.ok(caught !== null, "the broken acknowledgement rule passed 1000 seeds");
  assert.match(caught.reason, /acknowledged SAFETY FULL commit \d+ .* is not in [AB]'s durable log/);
  assert.match(caught.message, /--seed \d+ --trace/);
});

// ---- page_redo: the semantics of src/storage/redo.ts, checked against it on a real file ----

const PAGE = 512;

function record(lsn: number, flags: number, dbSizePages: number, pages: readonly PageImage[]): { header: RecordHeader; pages: PageImage[] } {
  const bytes = encodeRecord({ flags, epoch: 1, pageSize: PAGE, lsn, prevLsn: lsn - 1, dbSizePages,
    wal: NO_WAL_POSITION, commitTimeMs: 0, pages });
  const header = decodeHeader(bytes);
  assert.ok(typeof header !== "string");
  const decoded = decodeBody(header, bytes.subarray(RECORD_HEADER_BYTES));
  assert.ok(typeof decoded !== "string");
  return { header, pages: decoded };
}

function randomRecord(prng: Prng, lsn: number): { header: RecordHeader; pages: PageImage[] } {
  const roll = prng.below(10);
  const flags = roll === 0 ? RecordFlags.BASE_IMAGE | RecordFlags.FIRST | RecordFlags.LAST
    : roll < 3 ? RecordFlags.FIRST : roll < 5 ? RecordFlags.LAST : RecordFlags.FIRST | RecordFlags.LAST;
  const size = 1 + prng.below(12);
  const pgnos = new Set<number>();
  for (let n = prng.below(4); n > 0; n--) pgnos.add(1 + prng.below(14));
  const pages = [...pgnos].sort((a, b) => a - b).map((pgno) => ({ pgno, data: prng.bytes(PAGE) }));
  return record(lsn, flags, size, pages);
}

function fileAsMap(file: string): PageMap {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.length % PAGE, 0);
  const pages = new Map<number, Uint8Array>();
  for (let pgno = 1; pgno * PAGE <= bytes.length; pgno++) pages.set(pgno, bytes.subarray((pgno - 1) * PAGE, pgno * PAGE));
  return { pages, sizePages: bytes.length / PAGE };
}

test("page_redo redoes exactly as redoRecord does on a file: base images, writes past the end, shrinks, growth", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "page-redo-"));
  try {
    for (let seed = 1; seed <= 40; seed++) {
      const prng = new Prng(seed);
      const file = path.join(dir, `db-${seed}`);
      const fd = fs.openSync(file, "w+");
      let map = EMPTY_PAGE_MAP;
      try {
        for (let lsn = 1; lsn <= 30; lsn++) {
          const r = randomRecord(prng, lsn);
          redoRecord(fd, { ...r, segmentPath: file, offset: 0 });
          map = redoIntoPageMap(map, r.header, r.pages);
          assert.equal(firstPageDifference(map, fileAsMap(file)), null, `seed ${seed} lsn ${lsn}`);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("page_redo is pure and treats a hole like a zero page", () => {
  const zero = new Uint8Array(PAGE);
  const one = new Uint8Array(PAGE).fill(1);
  const base = redoIntoPageMap(EMPTY_PAGE_MAP, record(1, RecordFlags.FIRST | RecordFlags.LAST, 3, [{ pgno: 3, data: one }]).header,
    [{ pgno: 3, data: one }]);
  assert.equal(base.sizePages, 3);
  assert.equal(EMPTY_PAGE_MAP.pages.size, 0, "the input map is not changed");
  const explicit: PageMap = { pages: new Map([[1, zero], [3, one]]), sizePages: 3 };
  assert.equal(firstPageDifference(base, explicit), null);
  const shrunk = record(2, RecordFlags.LAST, 2, []);
  assert.deepEqual([...redoIntoPageMap(base, shrunk.header, shrunk.pages).pages.keys()], []);
  assert.equal(base.pages.get(3), one);
});

// ---- rewind plan ----

test("rewind plan: pages written after F, and every page past the smallest size set after F", () => {
  const p = (pgno: number): PageImage => ({ pgno, data: new Uint8Array(PAGE) });
  const after = [record(11, RecordFlags.FIRST | RecordFlags.LAST, 10, [p(2), p(7)]),
    record(12, RecordFlags.FIRST | RecordFlags.LAST, 6, [p(3)]), record(13, RecordFlags.FIRST | RecordFlags.LAST, 9, [p(9)])];
  const plan = rewindPlan(10, after);
  assert.deepEqual(plan, { failoverLsn: 10, pages: [2, 3, 7, 9], tailFromPgno: 7 });
  assert.deepEqual(pagesToFetch(plan, 12), [2, 3, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(pagesToFetch(plan, 5), [2, 3, 7, 9], "pages past the principal's size are fetched as absent");
  assert.ok(rewindNeedsNoPages(rewindPlan(10, [])));
  const base = rewindPlan(10, [record(11, RecordFlags.BASE_IMAGE | RecordFlags.FIRST | RecordFlags.LAST, 4, [p(1)])]);
  assert.equal(base.tailFromPgno, 1, "a base image after F rewrote the whole file");
  assert.throws(() => rewindPlan(10, [after[1]!]), /not the next/);
});
