// Commits/s of single-row insert transactions through the engine at 1, 8 and 32 concurrent
// writers, beside plain better-sqlite3 (WAL, synchronous=FULL, one connection) on the same
// workload, interleaved in one run; plus log bytes per single-row transaction. Prints a
// markdown table (medians of ROUNDS rounds). Never part of `npm test`.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StorageEngine } from "../src/storage/engine.js";
import { median } from "./support.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const WRITERS = [1, 8, 32];
const ROW = "INSERT INTO t(k, v) VALUES (?, ?)";
const PAYLOAD = "x".repeat(40);

function plainSqlite(dir: string): number {
  const file = path.join(dir, `plain-${Date.now()}.db`);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
  const insert = db.prepare(ROW);
  const end = performance.now() + SECONDS * 1000;
  let commits = 0;
  while (performance.now() < end) {
    insert.run(commits, PAYLOAD);
    commits++;
  }
  db.close();
  return commits / SECONDS;
}

async function engineRun(engine: StorageEngine, name: string, writers: number):
  Promise<{ rate: number; bytesPerTxn: number }> {
  const db = await engine.createDatabase(name);
  await db.session().execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
  const lsnBefore = db.log.lastLsn;
  const bytesBefore = logBytes(db.log.segmentList());
  const end = performance.now() + SECONDS * 1000;
  let commits = 0;
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const session = db.session();
    for (let i = 0; performance.now() < end; i++) {
      await session.execute(ROW, [w * 1_000_000 + i, PAYLOAD]);
      commits++;
    }
  }));
  const records = db.log.lastLsn - lsnBefore;
  const bytesPerTxn = (logBytes(db.log.segmentList()) - bytesBefore) / records;
  await engine.closeDatabase(name);
  return { rate: commits / SECONDS, bytesPerTxn };
}

function logBytes(segments: readonly { endOffset: number }[]): number {
  return segments.reduce((sum, segment) => sum + segment.endOffset, 0);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-"));
  const engine = StorageEngine.open({ dataDir: path.join(dir, "engine"), segmentBytes: 64 * 1024 * 1024 });
  const plain: number[] = [];
  const ours = new Map<number, number[]>(WRITERS.map((w) => [w, []]));
  const bytes: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      plain.push(plainSqlite(dir));
      for (const writers of WRITERS) {
        const result = await engineRun(engine, `r${round}w${writers}`, writers);
        ours.get(writers)!.push(result.rate);
        if (writers === 1) bytes.push(result.bytesPerTxn);
      }
    }
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = median(plain);
  console.log(`| workload: single-row INSERT, ${SECONDS}s per cell, median of ${ROUNDS} rounds | commits/s | vs plain |`);
  console.log("|---|---|---|");
  console.log(`| plain better-sqlite3 (WAL, synchronous=FULL, 1 connection) | ${base.toFixed(0)} | 1.00× |`);
  for (const writers of WRITERS) {
    const rate = median(ours.get(writers)!);
    console.log(`| mirrorlite engine, ${writers} writer${writers > 1 ? "s" : ""} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)}× |`);
  }
  console.log(`\nlog bytes per single-row transaction (1 writer): ${median(bytes).toFixed(0)}`);
  console.log(`all rounds: plain ${plain.map((r) => r.toFixed(0)).join(", ")}; `
    + WRITERS.map((w) => `${w}w ${ours.get(w)!.map((r) => r.toFixed(0)).join(", ")}`).join("; "));
}

await main();
