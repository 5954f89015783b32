// Goal: the operations users run on a live session behave as SQL Server documents them
// (spec/mirroring.md §1.4, §2.6, §2.8): SUSPEND and RESUME, TIMEOUT, a partner that stops
// answering without closing its connection (the principal times out, runs exposed and catches
// the mirror up when it answers again), failover and failback repeated under load with no
// acknowledged row lost, and SET PARTNER OFF leaving the mirror RESTORING and recoverable.
import * as path from "node:path";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import type { Connection } from "tedious";
import { close, connect, errorNumbers, queryExplained as query, startServer } from "./support/server.js";
import { tempDir } from "./support/temp.js";
import {
  certificateExample, mirroringRow, restartHost, seedMirror, setPartners, startHost, stopHost, synchronized, waitForRow,
  type Host,
} from "./support/mirroring.js";

const temp = tempDir("mirroring-ops");
const DB = "ops";
let c: Host;
let d: Host;

before(async () => {
  c = await startHost(temp.dir, "HOST_C");
  d = await startHost(temp.dir, "HOST_D", ["--route-mirror-logins"]);
  await certificateExample(temp.dir, c, d);
  await query(c.sa, `CREATE DATABASE ${DB}`);
  await query(c.sa, `USE ${DB}; CREATE TABLE items (id INT PRIMARY KEY, host NVARCHAR(10))`);
  await seedMirror(temp.dir, c, d, DB);
  await setPartners(c, d, DB);
  await waitForRow(d, DB, synchronized, "mirror SYNCHRONIZED");
});

after(async () => {
  for (const host of [c, d]) {
    if (host.server.child.exitCode === null) {
      try {
        process.kill(host.server.pid, "SIGCONT");
      } catch {
        // already gone
      }
      assert.equal(await stopHost(host), 0, host.server.output());
    }
  }
  temp.remove();
});

let nextId = 1;
async function insert(host: Host, count: number): Promise<void> {
  const connection = await connect(host.server.port, DB);
  for (let i = 0; i < count; i++) await query(connection, `INSERT INTO items VALUES (${nextId++}, N'${host.name}')`);
  await close(connection);
}

const caughtUp = (principal: { mirroring_end_of_log_lsn: string | null }) =>
  (row: { mirroring_end_of_log_lsn: string | null; mirroring_state_desc: string | null }) =>
    row.mirroring_state_desc === "SYNCHRONIZED" && row.mirroring_end_of_log_lsn === principal.mirroring_end_of_log_lsn;

test("SUSPEND runs the principal exposed; RESUME catches the mirror up to SYNCHRONIZED", async () => {
  await query(c.sa, `ALTER DATABASE ${DB} SET PARTNER SUSPEND`);
  await waitForRow(c, DB, (row) => row.mirroring_state_desc === "SUSPENDED", "principal SUSPENDED");
  await waitForRow(d, DB, (row) => row.mirroring_state_desc === "SUSPENDED", "mirror SUSPENDED");
  const before = await mirroringRow(d, DB);
  await insert(c, 50); // exposed: commits at local durability, nothing shipped
  assert.equal((await mirroringRow(d, DB)).mirroring_end_of_log_lsn, before.mirroring_end_of_log_lsn);
  await query(c.sa, `ALTER DATABASE ${DB} SET PARTNER RESUME`);
  const principal = await waitForRow(c, DB, synchronized, "principal SYNCHRONIZED after RESUME");
  await waitForRow(d, DB, caughtUp(principal), "mirror caught up after RESUME");
});

test("TIMEOUT: 0-4 is stored as 5, above 32767 is 1476, only on the principal (1470)", async () => {
  await query(c.sa, `ALTER DATABASE ${DB} SET PARTNER TIMEOUT 2`);
  await waitForRow(d, DB, (row) => (row as unknown as { mirroring_connection_timeout: number }).mirroring_connection_timeout === 5,
    "mirror adopts TIMEOUT 5");
  assert.deepEqual(await errorNumbers(query(c.sa, `ALTER DATABASE ${DB} SET PARTNER TIMEOUT 40000`)), [1476]);
  assert.deepEqual(await errorNumbers(query(d.sa, `ALTER DATABASE ${DB} SET PARTNER TIMEOUT 20`)), [1470]);
});

test("logins naming the mirror database: 4060 by default, routed to the principal with --route-mirror-logins", async () => {
  // HOST_C refuses them as SQL Server does once it is the mirror; HOST_D routes them (ENVCHANGE 20).
  const routed = await connect(d.server.port, DB);
  const where = await query(routed, `SELECT m.mirroring_role_desc FROM sys.database_mirroring m
    JOIN sys.databases d ON d.database_id = m.database_id WHERE d.name = '${DB}'`);
  assert.equal(where.rows[0]![0]!.mirroring_role_desc, "PRINCIPAL", "tedious followed the routing to the principal");
  await query(routed, "INSERT INTO items VALUES (-1, N'routed')");
  await close(routed);
  await assert.rejects(connect(c.server.port, "no_such_db"), /Cannot open database|Login failed/);
  assert.deepEqual(await errorNumbers(query(d.sa, `USE ${DB}`)), [954]);
});

test("a mirror that stops answering: commits wait at most TIMEOUT, then the principal runs exposed (1479)", async () => {
  process.kill(d.server.pid, "SIGSTOP");
  const started = Date.now();
  await insert(c, 3); // the first waits for the frozen mirror until the 5 s timeout
  const waitedMs = Date.now() - started;
  assert.ok(waitedMs >= 3000, `commits did not wait for the mirror (${waitedMs} ms)`);
  assert.equal((await mirroringRow(c, DB)).mirroring_state_desc, "DISCONNECTED");
  assert.match(c.server.output(), /Error: 1479, The mirroring connection to "TCP:\/\/127\.0\.0\.1:\d+" has timed out for database "ops" after 5 seconds/);
  await insert(c, 20);
  process.kill(d.server.pid, "SIGCONT");
  const principal = await waitForRow(c, DB, synchronized, "principal SYNCHRONIZED after the mirror answers again");
  await waitForRow(d, DB, caughtUp(principal), "mirror caught up");
});

test("SAFETY OFF: commits do not wait for a mirror that stops answering", async () => {
  await query(c.sa, `ALTER DATABASE ${DB} SET PARTNER SAFETY OFF`);
  await waitForRow(c, DB, (row) => row.mirroring_safety_level_desc === "OFF", "principal SAFETY OFF");
  process.kill(d.server.pid, "SIGSTOP");
  let waitedMs: number;
  try {
    const started = Date.now();
    await insert(c, 20);
    waitedMs = Date.now() - started;
  } finally {
    process.kill(d.server.pid, "SIGCONT");
  }
  // Under FULL the first of these waited for the 5 s timeout (the test above).
  assert.ok(waitedMs < 3000, `SAFETY OFF commits waited for the frozen mirror (${waitedMs} ms)`);
  await waitForRow(c, DB, synchronized, "principal SYNCHRONIZED once the mirror answers again");
  await query(c.sa, `ALTER DATABASE ${DB} SET PARTNER SAFETY FULL`);
  const principal = await waitForRow(c, DB, (row) => synchronized(row) && row.mirroring_safety_level_desc === "FULL",
    "principal SAFETY FULL, SYNCHRONIZED");
  await waitForRow(d, DB, caughtUp(principal), "mirror caught up");
});

test("failover and failback, twice, under load: every acknowledged row survives", async () => {
  const acknowledged: number[] = [];
  let principal = c;
  let stop = false;
  const writer = async (): Promise<void> => {
    let connection: Connection | null = null;
    while (!stop) {
      const id = nextId++;
      try {
        connection ??= await connect(principal.server.port, DB);
        await query(connection, `INSERT INTO items VALUES (${id}, N'load')`);
        acknowledged.push(id);
      } catch {
        if (connection !== null) await close(connection);
        connection = null;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    if (connection !== null) await close(connection);
  };
  const writers = Array.from({ length: 4 }, writer);
  for (const [from, to] of [[c, d], [d, c], [c, d], [d, c]] as const) {
    await new Promise((resolve) => setTimeout(resolve, 700));
    await query(from.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`);
    await waitForRow(to, DB, (row) => row.mirroring_role_desc === "PRINCIPAL" && synchronized(row), `${to.name} principal`);
    principal = to;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  stop = true;
  await Promise.all(writers);
  assert.ok(acknowledged.length > 40, `only ${acknowledged.length} rows acknowledged under load`);
  const rows = (await query(c.sa, `USE ${DB}; SELECT id FROM items`)).rows.at(-1)!;
  const ids = new Set(rows.map((row) => Number(row.id)));
  for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged row ${id} lost across failovers`);
  const row = await mirroringRow(c, DB);
  assert.equal(row.mirroring_role_sequence, 5);
  await waitForRow(d, DB, caughtUp(row), "mirror caught up after the last failback");
});

test("log backups continue across failovers: BACKUP LOG on the new principal continues the chain, which restores", async () => {
  // The previous test left HOST_C principal after four failovers; the chain began with the log
  // backup that seeded the mirror (seedMirror: ops_full.bak, then ops_log.trn).
  const bak = (name: string): string => path.join(temp.dir, name);
  await insert(c, 10);
  await query(c.sa, `BACKUP LOG ${DB} TO DISK = '${bak("ops_log2.trn")}' WITH FORMAT`);
  await insert(c, 10);
  await query(c.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`);
  await waitForRow(d, DB, (row) => row.mirroring_role_desc === "PRINCIPAL" && synchronized(row), "HOST_D principal");
  await insert(d, 10);
  // Without the mirror keeping its log from the principal's chain this was 4214 (no log chain).
  await query(d.sa, `BACKUP LOG ${DB} TO DISK = '${bak("ops_log3.trn")}' WITH FORMAT`);
  await query(d.sa, `RESTORE DATABASE ops_chain FROM DISK = '${bak(`${DB}_full.bak`)}' WITH NORECOVERY;
    RESTORE LOG ops_chain FROM DISK = '${bak(`${DB}_log.trn`)}' WITH NORECOVERY;
    RESTORE LOG ops_chain FROM DISK = '${bak("ops_log2.trn")}' WITH NORECOVERY;
    RESTORE LOG ops_chain FROM DISK = '${bak("ops_log3.trn")}' WITH RECOVERY`);
  const ids = async (db: string): Promise<number[]> =>
    (await query(d.sa, `USE ${db}; SELECT id FROM items ORDER BY id; USE master`)).rows.find((rows) => rows.length > 0)!
      .map((row) => Number(row.id));
  const live = await ids(DB);
  assert.ok(live.length >= 30, `only ${live.length} rows`);
  assert.deepEqual(await ids("ops_chain"), live, "the restored chain holds every row of the new principal");
  await query(d.sa, "DROP DATABASE ops_chain");
  // Back to HOST_C as principal for the tests that follow.
  await query(d.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`);
  await waitForRow(c, DB, (row) => row.mirroring_role_desc === "PRINCIPAL" && synchronized(row), "HOST_C principal");
});

test("a principal killed right after announcing FAILOVER keeps users out on restart, then becomes the mirror", async () => {
  // C is the principal again after the failbacks. Restart it with the failpoint set.
  assert.equal(await stopHost(c), 0);
  c.server = await startServer(c.dataDir, { MIRRORLITE_FAILPOINT: "crash-after-failover-sent" });
  c.sa = await connect(c.server.port);
  await waitForRow(c, DB, synchronized, "C principal SYNCHRONIZED");
  await insert(c, 20);
  const ended = new Promise((resolve) => c.server.child.once("exit", resolve));
  await query(c.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`).catch(() => undefined);
  await ended; // the failpoint killed C after the FAILOVER message left
  await waitForRow(d, DB, (row) => row.mirroring_role_desc === "PRINCIPAL", "D took over");
  await restartHost(c);
  await waitForRow(c, DB, (row) => row.mirroring_role_desc === "MIRROR" && synchronized(row), "C is the mirror");
  assert.match(c.server.output(), /restarted during a failover: users wait/);
  const principal = await waitForRow(d, DB, synchronized, "D principal SYNCHRONIZED");
  await waitForRow(c, DB, caughtUp(principal), "C caught up");
  const rows = (await query(d.sa, `USE ${DB}; SELECT COUNT(*) AS n FROM items WHERE id >= ${nextId - 20}`)).rows.at(-1)!;
  assert.equal(rows[0]!.n, 20);
});

/** Restarts a host with a failpoint set (a clean stop first); `exited` settles when the failpoint killed it. */
async function restartWithFailpoint(host: Host, failpoint: string): Promise<{ exited: Promise<unknown> }> {
  assert.equal(await stopHost(host), 0);
  host.server = await startServer(host.dataDir, { MIRRORLITE_FAILPOINT: failpoint });
  host.sa = await connect(host.server.port);
  const child = host.server.child;
  return { exited: new Promise((resolve) => child.once("exit", resolve)) };
}

test("a crash between persisting a new role and acting on it is finished at restart, on either partner", async () => {
  // D is the principal, C the mirror. C dies right after it persisted the principal role.
  let { exited } = await restartWithFailpoint(c, "crash-before-become-principal");
  await waitForRow(c, DB, synchronized, "C mirror SYNCHRONIZED");
  await insert(d, 10);
  await query(d.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`);
  await exited;
  await restartHost(c);
  assert.match(c.server.output(), /finishing the change to the principal role/);
  let principal = await waitForRow(c, DB, (row) => row.mirroring_role_desc === "PRINCIPAL" && synchronized(row), "C principal");
  await waitForRow(d, DB, caughtUp(principal), "D mirror caught up");
  await insert(c, 10);

  // C is the principal and dies right after it persisted the mirror role.
  ({ exited } = await restartWithFailpoint(c, "crash-before-become-mirror"));
  await waitForRow(c, DB, synchronized, "C principal SYNCHRONIZED");
  await query(c.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`).catch(() => undefined);
  await exited;
  await restartHost(c);
  assert.match(c.server.output(), /finishing the change to the mirror role/);
  principal = await waitForRow(d, DB, (row) => row.mirroring_role_desc === "PRINCIPAL" && synchronized(row), "D principal");
  await waitForRow(c, DB, caughtUp(principal), "C mirror caught up");
  const rows = (await query(d.sa, `USE ${DB}; SELECT COUNT(*) AS n FROM items WHERE id >= ${nextId - 20}`)).rows.at(-1)!;
  assert.equal(rows[0]!.n, 20);
});

test("SET PARTNER OFF: the session is gone on both sides, the mirror stays RESTORING and can be recovered", async () => {
  // D is the principal now, C the mirror.
  await query(d.sa, `ALTER DATABASE ${DB} SET PARTNER OFF`);
  await waitForRow(d, DB, (row) => row.mirroring_role_desc === null, "principal unmirrored");
  await waitForRow(c, DB, (row) => row.mirroring_role_desc === null, "mirror unmirrored");
  const state = await query(c.sa, `SELECT state_desc FROM sys.databases WHERE name = '${DB}'`);
  assert.equal(state.rows[0]![0]!.state_desc, "RESTORING");
  const expected = (await query(d.sa, `USE ${DB}; SELECT COUNT(*) AS n FROM items`)).rows.at(-1)![0]!.n;
  await query(c.sa, `RESTORE DATABASE ${DB} WITH RECOVERY`);
  const recovered = (await query(c.sa, `USE ${DB}; SELECT COUNT(*) AS n FROM items`)).rows.at(-1)![0]!.n;
  assert.equal(recovered, expected);
  // Unmirrored again: FAILOVER says there is no session.
  assert.deepEqual(await errorNumbers(query(d.sa, `ALTER DATABASE ${DB} SET PARTNER FAILOVER`)), [1416]);
});
