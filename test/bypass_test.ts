// Goal: nothing reaches the database file except through our log. ATTACH, journal-mode and
// checkpoint pragmas are refused; closing the database and process exit keep every record, and
// afterwards the file is exactly the rebuild of its log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { StorageEngine } from "../src/storage/engine.js";
import type { MirrorliteDatabase } from "../src/storage/database.js";
import { rebuildFromLog } from "../src/storage/recovery.js";
import { tempDir } from "./support/temp.js";

const SEGMENT_BYTES = 9 * 1024 * 1024;

async function assertFileIsItsLog(db: MirrorliteDatabase, scratch: string): Promise<void> {
  const file = await db.readCheckpointedFile();
  assert.ok(file !== null, "checkpoint did not complete");
  const rebuilt = path.join(scratch, `rebuilt-${file.lsn}.db`);
  rebuildFromLog(db.paths.logDir, rebuilt, file.lsn);
  assert.ok(fs.readFileSync(rebuilt).equals(file.image), "database file differs from its log");
}

test("ATTACH, journal-mode, synchronous, locking-mode and checkpoint pragmas are refused", async () => {
  const temp = tempDir("bypass");
  const engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES });
  try {
    const db = await engine.createDatabase("db");
    const session = db.session();
    await session.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    const other = path.join(temp.dir, "other.db");
    for (const sql of [`ATTACH '${other}' AS o`, "PRAGMA journal_mode = DELETE",
      "PRAGMA journal_mode = MEMORY", "PRAGMA synchronous = OFF", "PRAGMA locking_mode = EXCLUSIVE",
      "PRAGMA wal_autocheckpoint = 100", "PRAGMA wal_checkpoint(TRUNCATE)",
      `VACUUM INTO '${path.join(temp.dir, "copy.db")}'`]) {
      await assert.rejects(session.execute(sql), /authoriz/, sql);
      await session.execute("INSERT INTO t(v) VALUES (?)", [sql]);
    }
    assert.equal(fs.existsSync(other), false);
    assert.equal(fs.existsSync(path.join(temp.dir, "copy.db")), false);
    const mode = await session.execute("PRAGMA journal_mode");
    assert.deepEqual(mode.rows, [{ journal_mode: "wal" }]);
    await assertFileIsItsLog(db, temp.dir);
  } finally {
    await engine.close();
    temp.remove();
  }
});

test("closing the database keeps every record and leaves the file equal to its log", async () => {
  const temp = tempDir("close");
  let engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES });
  try {
    const db = await engine.createDatabase("db");
    const session = db.session();
    await session.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    const pending = Array.from({ length: 30 }, (_, i) => db.session().execute("INSERT INTO t(v) VALUES (?)", [`r${i}`]));
    await Promise.all(pending);
    const lastLsn = db.log.lastLsn;
    await engine.close();
    const rebuilt = path.join(temp.dir, "rebuilt.db");
    assert.equal(rebuildFromLog(db.paths.logDir, rebuilt), lastLsn);
    assert.ok(fs.readFileSync(rebuilt).equals(fs.readFileSync(db.paths.dbPath)));
    engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES });
    const reopened = await engine.openDatabase("db");
    const count = await reopened.session().execute("SELECT count(*) AS n FROM t");
    assert.deepEqual(count.rows, [{ n: 30 }]);
  } finally {
    await engine.close();
    temp.remove();
  }
});

test("process exit with commits in flight neither loses nor bypasses a record", async () => {
  const temp = tempDir("exit");
  const child = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), "support", "exit_child.js"),
    [temp.dir, "25"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const acked: number[] = [];
  child.on("message", (message: { acked?: number }) => {
    if (message.acked !== undefined) acked.push(message.acked);
  });
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
  assert.equal(acked.length, 25);
  const engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES });
  try {
    const db = await engine.openDatabase("exit");
    const rows = await db.session().execute("SELECT id FROM t");
    const ids = new Set((rows.rows as { id: number }[]).map((row) => row.id));
    for (const id of acked) assert.ok(ids.has(id), `acknowledged row ${id} lost`);
    await assertFileIsItsLog(db, temp.dir);
  } finally {
    await engine.close();
    temp.remove();
  }
});

test("a data directory is owned by one engine at a time", async () => {
  const temp = tempDir("lock");
  const engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES });
  try {
    assert.throws(() => StorageEngine.open({ dataDir: temp.dir }), { name: "DataDirectoryInUseError" });
  } finally {
    await engine.close();
  }
  const again = StorageEngine.open({ dataDir: temp.dir, segmentBytes: SEGMENT_BYTES });
  await again.close();
  temp.remove();
});
