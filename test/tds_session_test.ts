// Goal: the session behaviours drivers rely on. XACT_ABORT rolls the whole transaction back on
// an error (ENVCHANGE 10 reaches the driver), @@TRANCOUNT nests, RESETCONNECTION gives a pooled
// connection fresh session state, a negotiated packet size carries large results, and a query
// timeout stops the statement and leaves the connection usable.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { close, connect, query, startServer, type Server } from "./support/server.js";
import { tempDir } from "./support/temp.js";

const temp = tempDir("tds-session");
let server: Server;

before(async () => {
  server = await startServer(path.join(temp.dir, "data"));
  const c = await connect(server.port);
  await query(c, "CREATE DATABASE app; USE app; CREATE TABLE t (id INT PRIMARY KEY)");
  await close(c);
});
after(async () => {
  assert.equal(await server.stop(), 0);
  temp.remove();
});

test("XACT_ABORT ON: an error rolls the whole transaction back and ends the batch", async () => {
  const c = await connect(server.port, "app");
  let rolledBack = 0;
  // tedious emits it for ENVCHANGE 10 but its typings do not list the event.
  (c as unknown as NodeJS.EventEmitter).on("rollbackTransaction", () => { rolledBack++; });
  await assert.rejects(query(c, "SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"),
    { number: 2627 });
  assert.equal(rolledBack, 1, "the driver saw ENVCHANGE 10");
  const after = await query(c, "SELECT count(*) AS n, @@TRANCOUNT AS tc FROM t");
  assert.deepEqual(after.rows[0], [{ n: 0, tc: 0 }]);
  // Without XACT_ABORT the failed statement alone is undone and the transaction goes on.
  await assert.rejects(query(c, "SET XACT_ABORT OFF; BEGIN TRAN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)"), { number: 2627 });
  const nested = await query(c, "BEGIN TRAN; SELECT @@TRANCOUNT AS tc; COMMIT; SELECT @@TRANCOUNT AS tc; COMMIT; SELECT @@TRANCOUNT AS tc, count(*) AS n FROM t");
  assert.deepEqual(nested.rows, [[{ tc: 2 }], [{ tc: 1 }], [{ tc: 0, n: 1 }]]);
  await query(c, "DELETE FROM t");
  await close(c);
});

test("RESETCONNECTION: a reused connection gets fresh session state", async () => {
  const c = await connect(server.port, "app");
  await query(c, "SET NOCOUNT ON; BEGIN TRAN; INSERT INTO t VALUES (10)");
  let resets = 0;
  c.on("resetConnection", () => { resets++; });
  await new Promise<void>((resolve, reject) => c.reset((error) => (error ? reject(error) : resolve())));
  assert.equal(resets, 1, "ENVCHANGE 18 acknowledged the reset");
  const state = await query(c, "SELECT @@TRANCOUNT AS tc, (SELECT count(*) FROM t) AS n");
  assert.deepEqual(state.rows[0], [{ tc: 0, n: 0 }], "the open transaction was rolled back");
  const counted = await query(c, "INSERT INTO t VALUES (11)");
  assert.equal(counted.rowCount, 1, "NOCOUNT is back to OFF");
  await query(c, "DELETE FROM t");
  await close(c);
});

test("a negotiated 16 KiB packet size carries a multi-megabyte result", async () => {
  const c = await connect(server.port, "app", undefined, { packetSize: 16_384 });
  const big = await query(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
    + "SELECT i, printf('%0100d', i) AS padded FROM n");
  assert.equal(big.rows[0]!.length, 30_000);
  assert.equal(big.rows[0]![29_999]!.padded, String(30_000).padStart(100, "0"));
  await close(c);
});

test("a query timeout stops the statement; the connection stays usable", async () => {
  const c = await connect(server.port, "app", undefined, { requestTimeout: 500 });
  await assert.rejects(query(c, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"),
    { code: "ETIMEOUT" });
  const after = await query(c, "SELECT 2 AS two");
  assert.equal(after.rows[0]![0]!.two, 2);
  await close(c);
});

test("a result set beyond the server's memory bound fails with 701; the session goes on", async () => {
  const bounded = await startServer(path.join(temp.dir, "bounded"), { MIRRORLITE_RESULT_BYTES_MAX: "1000000" });
  try {
    const c = await connect(bounded.port);
    await assert.rejects(query(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
      + "SELECT i, printf('%050d', i) FROM n"), { number: 701 });
    const after = await query(c, "SELECT 3 AS three");
    assert.equal(after.rows[0]![0]!.three, 3);
    await close(c);
  } finally {
    assert.equal(await bounded.stop(), 0);
  }
});
