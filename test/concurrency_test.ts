// Goal: a long query never delays commits and can be stopped; the write lock is taken at the
// first write, queues sessions, and honours LOCK_TIMEOUT with error 1222.
import { test } from "node:test";
import assert from "node:assert/strict";
import { StorageEngine } from "../src/storage/engine.js";
import type { MirrorliteDatabase } from "../src/storage/database.js";
import { SqlError } from "../src/errors/sql_error.js";
import { tempDir } from "./support/temp.js";

const LONG_QUERY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000000) "
  + "SELECT count(*) AS n FROM c";

async function withDatabase(body: (db: MirrorliteDatabase) => Promise<void>): Promise<void> {
  const temp = tempDir("concurrency");
  const engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: 9 * 1024 * 1024 });
  try {
    const db = await engine.createDatabase("db");
    await db.session().execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    await body(db);
  } finally {
    await engine.close();
    temp.remove();
  }
}

test("a multi-second query on a reader does not delay commits, and an interrupt stops it", async () => {
  await withDatabase(async (db) => {
    const reader = db.session();
    let finished = false;
    const long = reader.execute(LONG_QUERY).finally(() => { finished = true; });
    long.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const writer = db.session();
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) await writer.execute("INSERT INTO t(v) VALUES (?)", [`row${i}`]);
    const commitMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(finished, false, "the long query ended before the commits were done");
    const startedMs = Number(started / 1_000_000n);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedMs + 2500
      - Number(process.hrtime.bigint() / 1_000_000n))));
    assert.equal(finished, false, "the query was meant to run for seconds");
    const count = await db.session().execute("SELECT count(*) AS n FROM t");
    assert.deepEqual(count.rows, [{ n: 100 }]);
    const cancelAt = process.hrtime.bigint();
    reader.cancel();
    await assert.rejects(long, /interrupt/);
    const cancelMs = Number(process.hrtime.bigint() - cancelAt) / 1e6;
    assert.ok(cancelMs < 5000, `cancel took ${cancelMs} ms`);
    process.stdout.write(`# 100 commits during the long query: ${commitMs.toFixed(0)} ms; cancel ${cancelMs.toFixed(0)} ms\n`);
    const after = await reader.execute("SELECT count(*) AS n FROM t");
    assert.deepEqual(after.rows, [{ n: 100 }], "the session stays usable after a cancel");
  });
});

test("a long write on the writer is interrupted and leaves nothing behind", async () => {
  await withDatabase(async (db) => {
    const session = db.session();
    const lsnBefore = db.log.lastLsn;
    const long = session.execute("INSERT INTO t(v) SELECT 'x' FROM (" + LONG_QUERY.replace(
      "SELECT count(*) AS n FROM c", "SELECT x FROM c") + ")");
    long.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    session.cancel();
    await assert.rejects(long, /interrupt/);
    assert.equal(db.log.lastLsn, lsnBefore, "an interrupted statement wrote a record");
    await session.execute("INSERT INTO t(v) VALUES ('after')");
    const count = await session.execute("SELECT count(*) AS n FROM t");
    assert.deepEqual(count.rows, [{ n: 1 }]);
  });
});

test("the write lock is taken at the first write and honours LOCK_TIMEOUT (1222)", async () => {
  await withDatabase(async (db) => {
    const a = db.session();
    await a.begin();
    await a.execute("SELECT count(*) FROM t");
    assert.equal(a.holdsWriteLock, false, "a transaction that only read holds no write lock");
    const b = db.session({ lockTimeoutMs: 0 });
    await b.execute("INSERT INTO t(v) VALUES ('b1')");
    await a.execute("INSERT INTO t(v) VALUES ('a1')");
    assert.equal(a.holdsWriteLock, true);

    await assert.rejects(b.execute("INSERT INTO t(v) VALUES ('b2')"),
      (error: unknown) => error instanceof SqlError && error.number === 1222 && error.severity === 16);
    const timed = db.session({ lockTimeoutMs: 200 });
    const started = Date.now();
    await assert.rejects(timed.execute("INSERT INTO t(v) VALUES ('t')"), { number: 1222 });
    assert.ok(Date.now() - started >= 150);

    const waiting = db.session().execute("INSERT INTO t(v) VALUES ('waited')");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reading = await db.session().execute("SELECT v FROM t ORDER BY id");
    assert.deepEqual(reading.rows, [{ v: "b1" }], "readers see only committed rows and never wait");
    await a.commit();
    await waiting;
    const all = await db.session().execute("SELECT v FROM t ORDER BY id");
    assert.deepEqual(all.rows, [{ v: "b1" }, { v: "a1" }, { v: "waited" }]);
  });
});

test("an error inside a transaction keeps it open; rollback leaves no record", async () => {
  await withDatabase(async (db) => {
    const session = db.session();
    const lsnBefore = db.log.lastLsn;
    await session.begin();
    await session.execute("INSERT INTO t(v) VALUES ('one')");
    await assert.rejects(session.execute("INSERT INTO missing VALUES (1)"), /no such table/);
    assert.equal(session.inTransaction, true);
    await session.rollback();
    assert.equal(db.log.lastLsn, lsnBefore);
    await assert.rejects(session.commit(), { number: 3902 });
    await assert.rejects(session.execute("BEGIN"), { number: 50001 });
  });
});
