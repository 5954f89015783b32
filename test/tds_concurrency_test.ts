// Goal: a long query never holds up other sessions. While one session runs a multi-second
// query, another completes 100 `SELECT 1` round trips and a third commits inserts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { close, connect, query, startServer } from "./support/server.js";
import { tempDir } from "./support/temp.js";

const LONG_QUERY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 12000000) "
  + "SELECT count(*) AS n FROM c";

test("a multi-second query runs beside SELECT 1 round trips and inserts", { timeout: 120_000 }, async () => {
  const temp = tempDir("tds-concurrency");
  const server = await startServer(path.join(temp.dir, "data"));
  try {
    const setup = await connect(server.port);
    await query(setup, "CREATE DATABASE busy; USE busy; CREATE TABLE t (id INT IDENTITY(1,1) PRIMARY KEY, v NVARCHAR(10))");
    await close(setup);
    const [longSession, pinger, writer] = await Promise.all([1, 2, 3].map(() => connect(server.port, "busy")));
    let longDone = false;
    const started = Date.now();
    const long = query(longSession!, LONG_QUERY).then((result) => { longDone = true; return result; });
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 100; i++) {
      const result = await query(pinger!, "SELECT 1 AS one");
      assert.equal(result.rows[0]![0]!.one, 1);
    }
    const pingsDoneMs = Date.now() - started;
    for (let i = 0; i < 20; i++) await query(writer!, `INSERT INTO t (v) VALUES (N'w${i}')`);
    const insertsDoneMs = Date.now() - started;
    assert.equal(longDone, false, `the long query was still running (pings ${pingsDoneMs} ms, inserts ${insertsDoneMs} ms)`);
    const result = await long;
    assert.equal(Number(result.rows[0]![0]!.n), 12_000_000);
    const count = await query(writer!, "SELECT count(*) AS n FROM t");
    assert.equal(count.rows[0]![0]!.n, 20);
    await Promise.all([longSession!, pinger!, writer!].map((c) => close(c)));
  } finally {
    assert.equal(await server.stop(), 0);
    temp.remove();
  }
});

test("ATTENTION cancels a running query; the connection stays usable", { timeout: 60_000 }, async () => {
  const temp = tempDir("tds-cancel");
  const server = await startServer(path.join(temp.dir, "data"));
  try {
    const c = await connect(server.port);
    const endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    const cancelled = query(c, endless);
    await new Promise((r) => setTimeout(r, 300));
    c.cancel();
    await assert.rejects(cancelled, { code: "ECANCEL" });
    const after = await query(c, "SELECT 1 AS one");
    assert.equal(after.rows[0]![0]!.one, 1);
    await close(c);
  } finally {
    assert.equal(await server.stop(), 0);
    temp.remove();
  }
});

test("an endless query over a catalog view runs off the event loop and can be cancelled", { timeout: 60_000 }, async () => {
  const temp = tempDir("tds-catalog-cancel");
  const server = await startServer(path.join(temp.dir, "data"));
  try {
    const [c, other] = await Promise.all([connect(server.port), connect(server.port)]);
    const endless = query(c!, "WITH RECURSIVE c(x) AS (SELECT 1 FROM sys.databases UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c");
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 20; i++) assert.equal((await query(other!, "SELECT name FROM sys.databases WHERE database_id = 1")).rows[0]![0]!.name, "master");
    c!.cancel();
    await assert.rejects(endless, { code: "ECANCEL" });
    await assert.rejects(query(c!, "SELECT nope FROM sys.databases"), { number: 207 });
    await assert.rejects(query(c!, "DELETE FROM sys.databases"), { number: 259 });
    assert.equal((await query(c!, "SELECT 1 AS one")).rows[0]![0]!.one, 1);
    await Promise.all([close(c!), close(other!)]);
  } finally {
    assert.equal(await server.stop(), 0);
    temp.remove();
  }
});
