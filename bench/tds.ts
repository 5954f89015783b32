// Commits/s of single-row INSERT transactions over TDS against a real `mirrorlite start`
// process at 1, 8 and 32 connections, interleaved in one run with the same workload on the
// storage engine driven in-process. Two clients: a lean raw-TDS load generator (the server's
// own throughput) and tedious (what a Node application sees; its CPU competes with the server
// on this machine's 2 cores). Medians of ROUNDS rounds; prints a markdown table. Never part of
// `npm test`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StorageEngine } from "../src/storage/engine.js";
import { LeanClient } from "./tds_lean_client.js";
import { median, PASSWORD, startMirrorlite, tediousBatch, tediousConnect } from "./support.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = [1, 8, 32];
const PAYLOAD = "x".repeat(40);

async function engineRun(engine: StorageEngine, name: string, writers: number): Promise<number> {
  const db = await engine.createDatabase(name);
  await db.session().execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
  const end = performance.now() + SECONDS * 1000;
  let commits = 0;
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const session = db.session();
    for (let i = 0; performance.now() < end; i++) {
      // The same SQL text a TDS client sends, so the only difference is the wire and the server.
      await session.execute(`INSERT INTO t(k, v) VALUES (${w * 1_000_000 + i}, '${PAYLOAD}')`);
      commits++;
    }
  }));
  await engine.dropDatabase(name);
  return commits / SECONDS;
}

interface Client { batch(sql: string): Promise<void>; close(): void }
type ClientKind = "lean" | "tedious";

async function openClient(kind: ClientKind, port: number, database: string): Promise<Client> {
  if (kind === "lean") return LeanClient.connect(port, "sa", PASSWORD, database);
  const connection = await tediousConnect(port, database);
  return { batch: async (sql) => { await tediousBatch(connection, sql); }, close: () => connection.close() };
}

async function tdsRun(kind: ClientKind, port: number, name: string, writers: number): Promise<number> {
  const admin = await tediousConnect(port, "master");
  await tediousBatch(admin, `CREATE DATABASE ${name}`);
  await tediousBatch(admin, `USE ${name}; CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v NVARCHAR(100))`);
  const clients = await Promise.all(Array.from({ length: writers }, () => openClient(kind, port, name)));
  const end = performance.now() + SECONDS * 1000;
  let commits = 0;
  await Promise.all(clients.map(async (client, w) => {
    for (let i = 0; performance.now() < end; i++) {
      await client.batch(`INSERT INTO t(k, v) VALUES (${w * 1_000_000 + i}, N'${PAYLOAD}')`);
      commits++;
    }
  }));
  for (const client of clients) client.close();
  await new Promise((r) => setTimeout(r, 100));
  await tediousBatch(admin, `USE master; DROP DATABASE ${name}`);
  admin.close();
  return commits / SECONDS;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-tds-"));
  const engine = StorageEngine.open({ dataDir: path.join(dir, "engine"), readerThreads: 4, safeIntegers: true });
  const server = await startMirrorlite(path.join(dir, "server"));
  const inProcess = new Map<number, number[]>(CONNECTIONS.map((n) => [n, []]));
  const lean = new Map<number, number[]>(CONNECTIONS.map((n) => [n, []]));
  const tedious = new Map<number, number[]>(CONNECTIONS.map((n) => [n, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of CONNECTIONS) {
        inProcess.get(n)!.push(await engineRun(engine, `e${round}n${n}`, n));
        lean.get(n)!.push(await tdsRun("lean", server.port, `l${round}n${n}`, n));
        tedious.get(n)!.push(await tdsRun("tedious", server.port, `t${round}n${n}`, n));
      }
    }
  } finally {
    await server.stop();
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (values: number[]) => values.map((r) => r.toFixed(0)).join(", ");
  console.log(`| single-row INSERT commits/s, ${SECONDS}s per cell, median of ${ROUNDS} rounds `
    + "| engine in-process | TDS, lean client | lean / in-process | TDS, tedious | tedious / in-process |");
  console.log("|---|---|---|---|---|---|");
  for (const n of CONNECTIONS) {
    const a = median(inProcess.get(n)!);
    const b = median(lean.get(n)!);
    const c = median(tedious.get(n)!);
    console.log(`| ${n} connection${n > 1 ? "s" : ""} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)}× `
      + `| ${c.toFixed(0)} | ${(c / a).toFixed(2)}× |`);
  }
  console.log(`all rounds: ${CONNECTIONS.map((n) => `${n}: engine ${fmt(inProcess.get(n)!)} / lean ${fmt(lean.get(n)!)}`
    + ` / tedious ${fmt(tedious.get(n)!)}`).join("; ")}`);
}

await main();
