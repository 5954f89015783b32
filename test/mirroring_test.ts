// Goal: two real instances mirror a database set up exactly as SQL Server's certificate example
// says, and no acknowledged commit is ever lost: 10,000 single-row commits from 8 connections
// under SAFETY FULL leave the mirror hardened to the principal's end of log; a manual failover
// keeps every acknowledged row and the new principal's file is byte-identical to the old one's
// at the failover LSN; SIGKILL of the mirror leaves the principal running exposed until the
// mirror comes back and catches up; SIGKILL of the principal and a restart resume the session;
// under SAFETY OFF the mirror's rows are a prefix of the principal's commit order.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Connection } from "tedious";
import { SA_PASSWORD, close, connect, errorNumbers, queryExplained as query } from "./support/server.js";
import { tempDir } from "./support/temp.js";
import {
  address, certificateExample, mirroringRow, restartHost, seedMirror, setPartners, startHost, stopHost,
  synchronized, waitForRow, type Host,
} from "./support/mirroring.js";

const temp = tempDir("mirroring");
const DB = "shop";
let a: Host;
let b: Host;

before(async () => {
  a = await startHost(temp.dir, "HOST_A");
  b = await startHost(temp.dir, "HOST_B");
  await certificateExample(temp.dir, a, b);
  await query(a.sa, `CREATE DATABASE ${DB}`);
  await query(a.sa, `USE ${DB}; CREATE TABLE orders (id INT PRIMARY KEY, writer INT NOT NULL, note NVARCHAR(40));
    CREATE TABLE events (seq INT IDENTITY(1,1) PRIMARY KEY, writer INT NOT NULL, n INT NOT NULL);
    INSERT INTO orders VALUES (0, 0, N'seed')`);
  await seedMirror(temp.dir, a, b, DB);
});

after(async () => {
  for (const host of [a, b]) {
    if (host.server.child.exitCode === null) assert.equal(await stopHost(host), 0, host.server.output());
  }
  temp.remove();
});

/** `connections` writers each commit `perWriter` single-row inserts; returns the acknowledged ids. */
async function writeOrders(host: Host, connections: number, perWriter: number, firstId: number,
  stopOnError = false): Promise<number[]> {
  const acknowledged: number[] = [];
  await Promise.all(Array.from({ length: connections }, async (_, writer) => {
    let c: Connection;
    try {
      c = await connect(host.server.port, DB);
    } catch (error) {
      if (stopOnError) return;
      throw error;
    }
    for (let i = 0; i < perWriter; i++) {
      const id = firstId + writer * perWriter + i;
      try {
        await query(c, `INSERT INTO orders VALUES (${id}, ${writer}, N'order ${id}')`);
      } catch (error) {
        if (stopOnError) break;
        throw error;
      }
      acknowledged.push(id);
    }
    await close(c);
  }));
  return acknowledged;
}

/** The partner a login to the database is told about (tedious's databaseMirroringPartner event). */
function announcedPartner(host: Host): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let partner: string | null = null;
    const connection = new Connection({ server: "127.0.0.1",
      authentication: { type: "default", options: { userName: "sa", password: SA_PASSWORD } },
      options: { port: host.server.port, encrypt: false, database: DB } });
    // tedious emits it during login; its typings do not list the event.
    (connection as unknown as NodeJS.EventEmitter).on("databaseMirroringPartner", (name: string) => { partner = name; });
    connection.connect((error) => {
      if (error) return reject(error);
      connection.close();
      resolve(partner);
    });
  });
}

async function orderIds(host: Host): Promise<Set<number>> {
  const result = await query(host.sa, `USE ${DB}; SELECT id FROM orders`);
  return new Set(result.rows[result.rows.length - 1]!.map((row) => Number(row.id)));
}

test("SET PARTNER: the documented order, then SYNCHRONIZED on both partners; errors for the wrong order or state", async () => {
  // The principal first: the mirror has no session yet (1416, the classic wrong order).
  assert.deepEqual(await errorNumbers(query(a.sa, `ALTER DATABASE ${DB} SET PARTNER = '${address(b)}'`)), [1416]);
  assert.deepEqual(await errorNumbers(query(a.sa, `ALTER DATABASE ${DB} SET PARTNER FAILOVER`)), [1416]);
  await setPartners(a, b, DB);
  const principal = await waitForRow(a, DB, synchronized, "principal SYNCHRONIZED");
  const mirror = await waitForRow(b, DB, synchronized, "mirror SYNCHRONIZED");
  assert.equal(principal.mirroring_role_desc, "PRINCIPAL");
  assert.equal(mirror.mirroring_role_desc, "MIRROR");
  assert.equal(principal.mirroring_safety_level_desc, "FULL");
  assert.equal(principal.mirroring_partner_name, address(b));
  assert.equal(mirror.mirroring_partner_name, address(a));
  // At login to the principal, ENVCHANGE 13 names the partner where clients go after a failover.
  assert.equal(await announcedPartner(a), `127.0.0.1,${b.server.port}`);
  // Only the principal changes settings (1470); a second SET PARTNER is refused (1405); the
  // mirror database refuses users (954).
  assert.deepEqual(await errorNumbers(query(b.sa, `ALTER DATABASE ${DB} SET PARTNER SAFETY OFF`)), [1470]);
  assert.deepEqual(await errorNumbers(query(a.sa, `ALTER DATABASE ${DB} SET PARTNER = '${address(b)}'`)), [1405]);
  assert.deepEqual(await errorNumbers(query(b.sa, `USE ${DB}`)), [954]);
  assert.deepEqual(await errorNumbers(query(a.sa, `DROP DATABASE ${DB}`)), [3743]);
  assert.deepEqual(await errorNumbers(query(a.sa, `ALTER DATABASE ${DB} SET RECOVERY SIMPLE`)), [1468]);
});

test("10,000 SAFETY FULL commits from 8 connections; manual failover keeps every acknowledged row, byte-identical file", async () => {
  const acknowledged = await writeOrders(a, 8, 1250, 1);
  assert.equal(acknowledged.length, 10_000);
  // Every acknowledgement waited for the mirror's hardening: no catch-up is needed.
  const principal = await mirroringRow(a, DB);
  const mirror = await mirroringRow(b, DB);
  assert.equal(principal.mirroring_state_desc, "SYNCHRONIZED");
  assert.equal(mirror.mirroring_end_of_log_lsn, principal.mirroring_end_of_log_lsn);
  // The counters saw it: every commit waited for the mirror, and the log travelled compressed.
  const counters = Object.fromEntries((await query(a.sa, `SELECT RTRIM(counter_name) AS name, cntr_value
    FROM sys.dm_os_performance_counters WHERE object_name = 'SQLServer:Database Mirroring' AND instance_name = '${DB}'`))
    .rows[0]!.map((row) => [row.name, Number(row.cntr_value)]));
  assert.ok(counters["Mirrored Write Transactions/sec"]! >= 10_000, JSON.stringify(counters));
  assert.ok(counters["Log Compressed Bytes Sent/sec"]! < counters["Log Bytes Sent/sec"]! / 4, JSON.stringify(counters));
  assert.ok(counters["Log Compressed Bytes Sent/sec"]! / 10_000 < 500, "over 500 bytes on the wire per single-row insert");
  const connections = await query(a.sa, `SELECT state_desc, encryption_algorithm_desc, login_state_desc
    FROM sys.dm_db_mirroring_connections`);
  assert.deepEqual(connections.rows[0], [{ state_desc: "CONNECTED", encryption_algorithm_desc: "AES", login_state_desc: "ONLINE" }]);

  await query(a.sa, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER`);
  const newPrincipal = await waitForRow(b, DB, (row) => row.mirroring_role_desc === "PRINCIPAL" && synchronized(row), "B principal");
  const newMirror = await waitForRow(a, DB, (row) => row.mirroring_role_desc === "MIRROR" && synchronized(row), "A mirror");
  assert.equal(newPrincipal.mirroring_role_sequence, 2);
  assert.equal(newMirror.mirroring_role_sequence, 2);
  assert.equal(newPrincipal.mirroring_failover_lsn, principal.mirroring_end_of_log_lsn);
  const ids = await orderIds(b);
  for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged order ${id} is missing after failover`);
  assert.equal(ids.size, 10_001);
  assert.deepEqual(await errorNumbers(query(a.sa, `USE ${DB}`)), [954]);

  // Both files at the failover LSN: stop both (a clean stop checkpoints; nothing was written since).
  assert.equal(await stopHost(a), 0);
  assert.equal(await stopHost(b), 0);
  const file = (host: Host): Buffer => fs.readFileSync(path.join(host.dataDir, "databases", DB, "data.db"));
  assert.ok(file(a).equals(file(b)), "the new principal's file differs from the old principal's at the failover LSN");
  await restartHost(a);
  await restartHost(b);
  await waitForRow(b, DB, synchronized, "B principal SYNCHRONIZED after both restarted");
});

test("SIGKILL of the mirror under load: the principal runs exposed, the mirror restarts and catches up", async () => {
  // B is the principal now, A the mirror.
  const load = writeOrders(b, 4, 400, 20_001);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await a.server.kill();
  await waitForRow(b, DB, (row) => row.mirroring_state_desc === "DISCONNECTED", "principal exposed");
  const acknowledged = await load;
  assert.equal(acknowledged.length, 1600);
  await restartHost(a);
  const principal = await waitForRow(b, DB, synchronized, "principal SYNCHRONIZED again");
  const mirror = await waitForRow(a, DB, synchronized, "mirror SYNCHRONIZED again");
  assert.equal(mirror.mirroring_end_of_log_lsn, principal.mirroring_end_of_log_lsn);
});

test("SIGKILL of the principal and restart: the session resumes with every acknowledged row", async () => {
  const load = writeOrders(b, 4, 2000, 30_001, true);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await b.server.kill();
  const acknowledged = await load;
  assert.ok(acknowledged.length > 0);
  await waitForRow(a, DB, (row) => row.mirroring_state_desc === "DISCONNECTED", "mirror sees the principal gone");
  await restartHost(b);
  const principal = await waitForRow(b, DB, synchronized, "principal SYNCHRONIZED after restart");
  await waitForRow(a, DB, (row) => synchronized(row) && row.mirroring_end_of_log_lsn === principal.mirroring_end_of_log_lsn,
    "mirror caught up");
  const ids = await orderIds(b);
  for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged order ${id} lost by the principal's crash`);
});

test("SAFETY OFF under load, then SIGKILL of the principal: the mirror holds a prefix of the commit order", async () => {
  await query(b.sa, `ALTER DATABASE ${DB} SET PARTNER SAFETY OFF`);
  await waitForRow(a, DB, (row) => row.mirroring_safety_level_desc === "OFF", "mirror adopts SAFETY OFF");
  const writers = Array.from({ length: 4 }, async (_, writer) => {
    const c = await connect(b.server.port, DB).catch(() => null);
    for (let n = 0; c !== null; n++) {
      try {
        await query(c, `INSERT INTO events (writer, n) VALUES (${writer}, ${n})`);
      } catch {
        return;
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await b.server.kill();
  await Promise.all(writers);
  await waitForRow(a, DB, (row) => row.mirroring_state_desc === "DISCONNECTED", "mirror sees the principal gone");
  // Remove mirroring on the mirror and recover its copy (spec §2.8), then compare with the principal's.
  await query(a.sa, `ALTER DATABASE ${DB} SET PARTNER OFF`);
  await query(a.sa, `RESTORE DATABASE ${DB} WITH RECOVERY`);
  const mirrorRows = (await query(a.sa, `USE ${DB}; SELECT seq, writer, n FROM events ORDER BY seq`)).rows.at(-1)!;
  await restartHost(b);
  const principalRows = (await query(b.sa, `USE ${DB}; SELECT seq, writer, n FROM events ORDER BY seq`)).rows.at(-1)!;
  assert.ok(principalRows.length > 0 && mirrorRows.length > 0, `${principalRows.length} / ${mirrorRows.length} rows`);
  assert.ok(mirrorRows.length <= principalRows.length);
  // A prefix: sequence numbers 1..k with no gap, each row exactly the principal's (nothing invented).
  mirrorRows.forEach((row, i) => {
    assert.equal(Number(row.seq), i + 1, "a gap in the mirror's commit order");
    assert.deepEqual(row, principalRows[i], `mirror row ${i + 1} differs from the principal's`);
  });
});
