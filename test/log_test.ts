// Goal: the log tells a torn tail (the end) from damage inside its durable part (refuse to
// start), and its services work: a reader from any LSN, the durable-LSN subscription,
// retention holds with log_reuse_wait_desc, and a streaming snapshot equal to the rebuild.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { StorageEngine } from "../src/storage/engine.js";
import { rebuildFromLog } from "../src/storage/recovery.js";
import { LogCorruptionError, scanLog } from "../src/log/runtime/log_scan.js";
import { NO_WAL_POSITION, RecordFlags, encodeRecord, stampDurableLsn } from "../src/log/record.js";
import { tempDir } from "./support/temp.js";

const SEGMENT_BYTES = 9 * 1024 * 1024;

async function withDatabase(name: string, body: (engine: StorageEngine, dir: string) => Promise<void>,
  model: "FULL" | "SIMPLE" = "FULL"): Promise<void> {
  const temp = tempDir(name);
  const engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES,
    onFatal: (error) => { throw error; } });
  try {
    const db = await engine.createDatabase("db", model);
    const session = db.session();
    await session.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    // One at a time: each record is written after the previous one is durable, so later
    // records vouch for earlier ones.
    for (let i = 0; i < 40; i++) await session.execute("INSERT INTO t(v) VALUES (randomblob(300))");
    await body(engine, engine.databaseDir("db"));
  } finally {
    await engine.close().catch(() => undefined);
    temp.remove();
  }
}

function recordOffsets(logDir: string): { file: string; offsets: number[] } {
  const scan = scanLog(logDir);
  const segment = scan.segments[0]!;
  const offsets: number[] = [];
  const fd = fs.openSync(segment.path, "r");
  for (let offset = 64; offset < segment.endOffset;) {
    offsets.push(offset);
    const head = Buffer.alloc(80);
    fs.readSync(fd, head, 0, 80, offset);
    offset += Math.ceil((80 + head.readUInt32LE(40)) / 8) * 8;
  }
  fs.closeSync(fd);
  return { file: segment.path, offsets };
}

function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, "r+");
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, at);
  byte[0] = byte[0]! ^ 0x5a;
  fs.writeSync(fd, byte, 0, 1, at);
  fs.closeSync(fd);
}

for (const [where, delta] of [["body", 500], ["header", 20]] as const) {
  test(`a damaged record ${where} in the middle of the log is corruption, not the end`, async () => {
    await withDatabase(`corrupt-${where}`, async (engine, dir) => {
      await engine.closeDatabase("db");
      const { file, offsets } = recordOffsets(path.join(dir, "log"));
      flipByte(file, offsets[Math.floor(offsets.length / 2)]! + delta);
      await assert.rejects(engine.openDatabase("db"), LogCorruptionError);
    });
  });
}

test("a torn last record is the end of the log", async () => {
  await withDatabase("torn", async (engine, dir) => {
    const db = await engine.openDatabase("db");
    const lastLsn = db.log.lastLsn;
    await engine.closeDatabase("db");
    // A crash in the middle of writing the next record: its first 60% reached the disk.
    const scan = scanLog(path.join(dir, "log"));
    const segment = scan.segments[scan.segments.length - 1]!;
    const torn = encodeRecord({ flags: RecordFlags.FIRST | RecordFlags.LAST, epoch: 1, pageSize: 4096,
      lsn: lastLsn + 1, prevLsn: lastLsn, dbSizePages: 3, pages: [{ pgno: 2, data: Buffer.alloc(4096, 7) }],
      wal: NO_WAL_POSITION, commitTimeMs: Date.now() });
    stampDurableLsn(torn, lastLsn + 1, lastLsn);
    const fd = fs.openSync(segment.path, "r+");
    fs.writeSync(fd, torn, 0, Math.floor(torn.length * 0.6), segment.endOffset);
    fs.closeSync(fd);

    const reopened = await engine.openDatabase("db");
    assert.equal(reopened.log.lastLsn, lastLsn);
    await reopened.session().execute("INSERT INTO t(v) VALUES (x'02')");
    await engine.closeDatabase("db");
    const again = await engine.openDatabase("db");
    assert.equal(again.log.lastLsn, lastLsn + 1, "a record written over the wiped tail is kept");
    const count = await again.session().execute("SELECT count(*) AS n FROM t");
    assert.equal((count.rows![0] as { n: number }).n, 41);
  });
});

test("log reader from any LSN, durable subscription and snapshot", async () => {
  await withDatabase("services", async (engine) => {
    const db = await engine.openDatabase("db");
    const seen: number[] = [];
    const unsubscribe = db.log.onDurable((lsn) => seen.push(lsn));
    const result = await db.session().execute("INSERT INTO t(v) VALUES (x'01')");
    unsubscribe();
    assert.ok(seen.includes(result.commitLsn!), `durable events ${seen} miss ${result.commitLsn}`);
    const lsns: number[] = [];
    for await (const record of db.readLog(10)) {
      lsns.push(record.header.lsn);
      assert.ok((record.header.flags & RecordFlags.LAST) !== 0);
    }
    assert.deepEqual(lsns, Array.from({ length: db.log.durableLsn - 9 }, (_, i) => 10 + i));
    const first = await db.readLog(1, 1).next();
    assert.ok(first.done === false && (first.value.header.flags & RecordFlags.BASE_IMAGE) !== 0);

    // A snapshot streams pages at one LSN while writers go on.
    const snapshot = await db.snapshot();
    const writer = db.session();
    for (let i = 0; i < 20; i++) await writer.execute("INSERT INTO t(v) VALUES (randomblob(3000))");
    const checkpoint = await db.checkpoint();
    assert.equal(checkpoint.skipped, true, "checkpoints must wait for open snapshots");
    const pages: Buffer[] = [];
    for await (const page of snapshot.pages()) pages.push(page.data);
    snapshot.close();
    const rebuilt = path.join(engine.dataDir, "at-snapshot.db");
    rebuildFromLog(db.paths.logDir, rebuilt, snapshot.lsn);
    assert.ok(Buffer.concat(pages).equals(fs.readFileSync(rebuilt)), "snapshot differs from rebuild");
    assert.equal((await db.checkpoint()).skipped, false);
  });
});

test("truncation waits for every hold and log_reuse_wait_desc names it", async () => {
  await withDatabase("holds", async (engine) => {
    const db = await engine.openDatabase("db");
    const session = db.session();
    const fill = async (): Promise<void> => {
      for (let i = 0; i < 60; i++) await session.execute("INSERT INTO t(v) VALUES (randomblob(60000))");
    };
    // FULL before a full backup starts the log chain keeps no log for backups (pseudo-SIMPLE).
    await fill(); await fill(); await fill();
    await db.checkpoint();
    assert.equal(db.logReuseWaitDesc, "NOTHING");
    assert.ok(db.log.firstLsn! > 1, "checkpoints truncate before the chain starts");
    const chainStart = db.log.lastLsn + 1;
    db.logBackedUpTo(chainStart); // what a full backup does
    await fill(); await fill(); await fill();
    await db.checkpoint();
    assert.ok(db.log.segmentList().length > 1);
    assert.equal(db.logReuseWaitDesc, "LOG_BACKUP", "FULL keeps the log until a log backup");
    const release = db.holds.add("DATABASE_MIRRORING", chainStart);
    db.logBackedUpTo(db.log.durableLsn + 1);
    assert.equal(db.logReuseWaitDesc, "DATABASE_MIRRORING");
    assert.ok(db.log.firstLsn! <= chainStart);
    release();
    db.logBackedUpTo(db.log.durableLsn + 1);
    assert.equal(db.logReuseWaitDesc, "NOTHING");
    assert.ok(db.log.firstLsn! > chainStart, "the log was truncated");
    await assert.rejects(async () => { for await (const _ of db.readLog(chainStart)) break; },
      /no longer in the log/);
  });
});

test("SIMPLE recovery truncates after checkpoints", async () => {
  await withDatabase("simple", async (engine) => {
    const db = await engine.openDatabase("db");
    const session = db.session();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 60; i++) await session.execute("INSERT INTO t(v) VALUES (randomblob(60000))");
      await db.checkpoint();
    }
    assert.equal(db.recoveryModel, "SIMPLE");
    assert.ok(db.log.firstLsn! > 1);
    assert.equal(db.logReuseWaitDesc, "NOTHING");
  }, "SIMPLE");
});
