// Goal: bad input costs only the offending connection. Malformed, oversized and truncated
// packets, garbage, a half-sent login, a client that vanishes mid-batch or mid-transaction:
// that connection is dropped (its transaction rolled back) and everyone else keeps being served.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Connection } from "tedious";
import { close, connect, query, SA_PASSWORD, startServer, type Server } from "./support/server.js";
import { closedWithin, login7, packet, prelogin, rawSocket, readUntil, sqlBatch } from "./support/tds_raw.js";
import { tempDir } from "./support/temp.js";
import { Prng } from "./support/workload.js";

const temp = tempDir("bad-input");
let server: Server;
let witness: Connection;

before(async () => {
  server = await startServer(path.join(temp.dir, "data"));
  witness = await connect(server.port);
  await query(witness, "CREATE DATABASE victim; USE victim; CREATE TABLE t (id INT PRIMARY KEY)");
});
after(async () => {
  await close(witness);
  const code = await server.stop();
  temp.remove();
  assert.equal(code, 0);
});

/** True once the bytes hold a whole response message (a packet with EOM). */
function wholeMessage(bytes: Buffer): boolean {
  for (let at = 0; at + 8 <= bytes.length;) {
    const length = bytes.readUInt16BE(at + 2);
    if (at + length > bytes.length) return false;
    if ((bytes[at + 1]! & 1) === 1) return true;
    at += length;
  }
  return false;
}

async function stillServing(): Promise<void> {
  const result = await query(witness, "SELECT 1 AS ok");
  assert.equal(result.rows[0]![0]!.ok, 1);
}

async function loggedInSocket() {
  const socket = await rawSocket(server.port);
  socket.write(prelogin());
  await readUntil(socket, wholeMessage);
  socket.write(login7("sa", SA_PASSWORD, "victim"));
  const reply = await readUntil(socket, wholeMessage);
  assert.ok(reply.includes(0xad), "LOGINACK");
  return socket;
}

test("malformed, oversized, truncated packets and garbage close only their connection", async () => {
  const prng = new Prng(5);
  const garbage = Buffer.from(Array.from({ length: 3000 }, () => prng.below(256)));
  const attacks: [string, Buffer][] = [
    ["length below the header", packet(0x12, Buffer.alloc(0), 1, 4)],
    ["oversized packet", packet(0x12, Buffer.alloc(40_000), 1, 0xffff)],
    ["random bytes", garbage],
    ["LOGIN7 with offsets past its end", packet(0x10, Buffer.concat([Buffer.from([200, 0, 0, 0]), Buffer.alloc(90, 0xff)]))],
    ["SQL batch before login", sqlBatch("SELECT 1")],
    ["TDS 4.2 login", packet(0x02, Buffer.alloc(100))],
  ];
  for (const [name, bytes] of attacks) {
    const socket = await rawSocket(server.port);
    socket.write(bytes);
    assert.ok(await closedWithin(socket, 5000), `${name}: the server closes the connection`);
    await stillServing();
  }
  const truncated = await rawSocket(server.port);
  truncated.write(packet(0x12, Buffer.alloc(200)).subarray(0, 60));
  truncated.end();
  assert.ok(await closedWithin(truncated, 5000));
  await stillServing();
  // A whole message with a broken payload is answered with error 4002; the session goes on.
  const badBatch = await loggedInSocket();
  badBatch.write(packet(0x01, Buffer.from([0xff, 0xff, 0, 0, 1, 2, 3])));
  const answer = await readUntil(badBatch, wholeMessage);
  assert.ok(answer.includes(Buffer.from([0xaa])) && answer.readInt32LE(answer.indexOf(0xaa) + 3) === 4002, "ERROR 4002");
  badBatch.write(sqlBatch("SELECT 1"));
  const next = await readUntil(badBatch, wholeMessage);
  assert.ok(next.includes(0xd1), "the next batch returns its row");
  badBatch.destroy();
  await stillServing();
  assert.equal(server.child.exitCode, null, "the server is still running");
});

test("a half-sent login holds nothing", async () => {
  const socket = await rawSocket(server.port);
  socket.write(prelogin());
  await readUntil(socket, wholeMessage);
  socket.write(login7("sa", SA_PASSWORD).subarray(0, 50));
  for (let i = 0; i < 20; i++) await stillServing();
  assert.equal(await closedWithin(socket, 200), false, "the half-login waits (until the login timeout)");
  socket.destroy();
});

test("a client gone mid-batch or mid-transaction: its work stops and rolls back", async () => {
  // Four endless queries, one per reader thread, whose clients vanish: unless each was
  // interrupted, no reader thread would be left for the reads below.
  for (let i = 0; i < 4; i++) {
    const midBatch = await loggedInSocket();
    midBatch.write(sqlBatch("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"));
    await new Promise((r) => setTimeout(r, 100));
    midBatch.destroy();
  }
  for (let i = 0; i < 5; i++) {
    const other = await connect(server.port, "victim");
    await query(other, "SELECT count(*) AS n FROM t");
    await close(other);
  }
  const midTransaction = await loggedInSocket();
  midTransaction.write(sqlBatch("BEGIN TRAN; INSERT INTO t (id) VALUES (1)"));
  await readUntil(midTransaction, wholeMessage);
  midTransaction.destroy();
  await query(witness, "SET LOCK_TIMEOUT 10000; USE victim; INSERT INTO t (id) VALUES (2)");
  const rows = await query(witness, "SELECT id FROM t ORDER BY id");
  assert.deepEqual(rows.rows[0], [{ id: 2 }], "the dropped client's insert was rolled back");
  await stillServing();
});
