// Commits/s of single-row INSERT transactions over TDS against a real `mirrorlite start`
// process at 1, 8 and 32 connections, interleaved in one run with the same workload on the
// storage engine driven in-process. Two clients: a lean raw-TDS load generator (the server's
// own throughput) and tedious (what a Node application sees; its CPU competes with the server
// on this machine's 2 cores). Medians of ROUNDS rounds; prints a markdown table. Never part of
// `npm test`.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Connection, Request } from "tedious";
import { StorageEngine } from "../src/storage/engine.js";
import { LeanClient } from "./tds_lean_client.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = [1, 8, 32];
const PASSWORD = "Bench!Passw0rd";
const PAYLOAD = "x".repeat(40);
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

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

function connect(port: number, database: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: "127.0.0.1",
      authentication: { type: "default", options: { userName: "sa", password: PASSWORD } },
      options: { port, database, encrypt: false },
    });
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

function batch(connection: Connection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.execSqlBatch(new Request(sql, (error) => (error ? reject(error) : resolve())));
  });
}

interface Client { batch(sql: string): Promise<void>; close(): void }
type ClientKind = "lean" | "tedious";

async function openClient(kind: ClientKind, port: number, database: string): Promise<Client> {
  if (kind === "lean") return LeanClient.connect(port, "sa", PASSWORD, database);
  const connection = await connect(port, database);
  return { batch: (sql) => batch(connection, sql), close: () => connection.close() };
}

async function tdsRun(kind: ClientKind, port: number, name: string, writers: number): Promise<number> {
  const admin = await connect(port, "master");
  await batch(admin, `CREATE DATABASE ${name}`);
  await batch(admin, `USE ${name}; CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v NVARCHAR(100))`);
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
  await batch(admin, `USE master; DROP DATABASE ${name}`);
  admin.close();
  return commits / SECONDS;
}

async function startServer(dataDir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [MAIN, "start", "--data", dataDir, "--port", "0", "--listen", "127.0.0.1"],
    { env: { ...process.env, MSSQL_SA_PASSWORD: PASSWORD }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [^ ]+:(\d+)/.exec(output);
      if (match !== null) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`server exited: ${output}`)));
  });
  return { port, stop: async () => { process.kill(child.pid!, "SIGTERM"); await exited; } };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-tds-"));
  const engine = StorageEngine.open({ dataDir: path.join(dir, "engine"), readerThreads: 4, safeIntegers: true });
  const server = await startServer(path.join(dir, "server"));
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
