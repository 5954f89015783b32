// Queries/s of round trips against a real `mirrorlite start` process beside PostgreSQL 15 on the
// same workloads, interleaved in one run (issue 4's speed target: ≥ 0.8× PostgreSQL's round
// trips/s over 8 connections):
// - `SELECT 1`, one query per request, each connection waiting for its answer;
// - `SELECT * FROM t` returning 100 rows of (int, nvarchar(40) / varchar(40), float).
// Clients: tedious 19 (`execSqlBatch`) against mirrorlite and `pg` (simple query) against
// PostgreSQL, what applications use; and two lean raw-protocol clients (bench/tds_lean_client.ts,
// bench/pg_lean_client.ts) that do not decode rows, so the figure is the server's. All clients
// share this process, and the servers share the machine's cores with it, so the table also gives
// the CPU each side spends per query (server: the process with its threads, or the postmaster
// with its backends; client: this process), read from /proc. Medians of BENCH_ROUNDS rounds of
// BENCH_SECONDS per cell; BENCH_CPU_PROF=dir starts mirrorlite under `node --cpu-prof`.
// Never part of `npm test`.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pg from "pg";
import { startPgCluster, type PgCluster } from "./pg_cluster.js";
import { PgLeanClient } from "./pg_lean_client.js";
import { LeanClient } from "./tds_lean_client.js";
import { median, PASSWORD, startMirrorlite, tediousBatch, tediousConnect } from "./support.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = [1, 8];
const ROWS = 100;

const SYSTEMS = ["pg", "tedious", "pg-lean", "tds-lean"] as const;
type System = typeof SYSTEMS[number];
const WORKLOADS = [
  { name: "SELECT 1", sql: "SELECT 1" },
  { name: `SELECT * FROM t (${ROWS} rows)`, sql: "SELECT * FROM t" },
] as const;

interface Client { query(sql: string): Promise<void>; close(): void }
/** One cell: queries/s and CPU µs per query on each side. */
interface Cell { qps: number; serverUs: number; clientUs: number }

function row(i: number): { id: number; name: string; x: number } {
  return { id: i, name: `row ${i} `.padEnd(32, "x"), x: i * 1.25 };
}

// ---------------------------------------------------------------- CPU accounting (/proc)

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** [ppid, utime + stime in seconds] of a process, or null when it is gone. */
function procStat(pid: number): [number, number] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [Number(fields[1]), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS];
  } catch {
    return null;
  }
}

/** CPU seconds of a process and, when `children`, of every process it forked (PG backends). */
function cpuSeconds(pid: number, children: boolean): number {
  let total = procStat(pid)?.[1] ?? 0;
  if (!children) return total;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat !== null && stat[0] === pid) total += stat[1];
  }
  return total;
}

// ---------------------------------------------------------------- mirrorlite

async function setUpMirrorlite(port: number): Promise<void> {
  const admin = await tediousConnect(port, "master");
  await tediousBatch(admin, "CREATE DATABASE bench");
  const values = Array.from({ length: ROWS }, (_, i) => row(i + 1))
    .map((r) => `INSERT INTO t VALUES (${r.id}, N'${r.name}', ${r.x})`).join("\n");
  await tediousBatch(admin, `USE bench\nCREATE TABLE t (id INT, name NVARCHAR(40), x FLOAT)\n`
    + `BEGIN TRAN\n${values}\nCOMMIT`);
  const rows = await tediousBatch(admin, "SELECT * FROM t");
  if (rows !== ROWS) throw new Error(`mirrorlite: t has ${rows} rows`);
  admin.close();
}

// ---------------------------------------------------------------- PostgreSQL

async function setUpPostgres(port: number): Promise<void> {
  const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  await admin.connect();
  await admin.query("CREATE TABLE t (id int, name varchar(40), x float8)");
  for (let i = 1; i <= ROWS; i++) {
    const r = row(i);
    await admin.query("INSERT INTO t VALUES ($1, $2, $3)", [r.id, r.name, r.x]);
  }
  const { rowCount } = await admin.query("SELECT * FROM t");
  if (rowCount !== ROWS) throw new Error(`PostgreSQL: t has ${rowCount} rows`);
  await admin.end();
}

async function openClients(system: System, count: number, pgPort: number, tdsPort: number):
  Promise<Client[]> {
  return Promise.all(Array.from({ length: count }, async (): Promise<Client> => {
    switch (system) {
      case "pg": {
        const client = new pg.Client({ host: "127.0.0.1", port: pgPort, user: "postgres", database: "postgres" });
        await client.connect();
        return { query: async (sql) => { await client.query(sql); }, close: () => void client.end() };
      }
      case "pg-lean": {
        const client = await PgLeanClient.connect(pgPort, "postgres", "postgres");
        return { query: (sql) => client.query(sql), close: () => client.close() };
      }
      case "tedious": {
        const connection = await tediousConnect(tdsPort, "bench");
        return { query: async (sql) => { await tediousBatch(connection, sql); }, close: () => connection.close() };
      }
      case "tds-lean": {
        const client = await LeanClient.connect(tdsPort, "sa", PASSWORD, "bench");
        return { query: (sql) => client.batch(sql), close: () => client.close() };
      }
    }
  }));
}

// ---------------------------------------------------------------- the run

/** `clients` each run `sql` back to back for `seconds`; CPU read around the cell. */
async function cell(clients: Client[], sql: string, seconds: number, serverCpu: () => number): Promise<Cell> {
  const serverBefore = serverCpu();
  const clientBefore = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  let queries = 0;
  await Promise.all(clients.map(async (client) => {
    while (performance.now() < end) {
      await client.query(sql);
      queries += 1;
    }
  }));
  const client = process.cpuUsage(clientBefore);
  const serverUs = (serverCpu() - serverBefore) * 1e6 / queries;
  return { qps: queries / seconds, serverUs, clientUs: (client.user + client.system) / queries };
}

type Results = Map<string, Cell[]>;
const key = (workload: number, connections: number, system: System): string => `${workload}/${connections}/${system}`;

async function measure(pools: Map<System, Client[]>, serverCpu: (system: System) => number): Promise<Results> {
  const results: Results = new Map();
  // Warm-up, not recorded: JIT, SQLite's page cache, PostgreSQL's plan and buffer caches.
  for (const workload of WORKLOADS) {
    for (const system of SYSTEMS) await cell(pools.get(system)!, workload.sql, 0.5, () => serverCpu(system));
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate who goes first so no system always runs right after the same neighbour.
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + round) % SYSTEMS.length]!);
    for (const [w, workload] of WORKLOADS.entries()) {
      for (const n of CONNECTIONS) {
        for (const system of order) {
          const result = await cell(pools.get(system)!.slice(0, n), workload.sql, SECONDS, () => serverCpu(system));
          const cells = results.get(key(w, n, system)) ?? [];
          cells.push(result);
          results.set(key(w, n, system), cells);
        }
      }
    }
  }
  return results;
}

function report(results: Results, pgVersion: string): void {
  const qps = (w: number, n: number, s: System): number => median(results.get(key(w, n, s))!.map((c) => c.qps));
  const cpu = (w: number, n: number, s: System, side: "serverUs" | "clientUs"): string =>
    median(results.get(key(w, n, s))!.map((c) => c[side])).toFixed(0);
  console.log(`\n${pgVersion}; ${os.cpus().length} CPUs; ${SECONDS}s per cell, median of ${ROUNDS} rounds\n`);
  console.log("| queries/s | PostgreSQL 15, pg | mirrorlite, tedious | ratio | PostgreSQL 15, lean "
    + "| mirrorlite, lean | ratio |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [w, workload] of WORKLOADS.entries()) {
    for (const n of CONNECTIONS) {
      const [a, b, c, d] = (["pg", "tedious", "pg-lean", "tds-lean"] as const).map((s) => qps(w, n, s));
      console.log(`| ${workload.name}, ${n} connection${n > 1 ? "s" : ""} | ${a!.toFixed(0)} | ${b!.toFixed(0)} `
        + `| ${(b! / a!).toFixed(2)}× | ${c!.toFixed(0)} | ${d!.toFixed(0)} | ${(d! / c!).toFixed(2)}× |`);
    }
  }
  console.log("\n| CPU µs per query, 8 connections (server / client) | PostgreSQL 15, pg | mirrorlite, tedious "
    + "| PostgreSQL 15, lean | mirrorlite, lean |");
  console.log("|---|---|---|---|---|");
  for (const [w, workload] of WORKLOADS.entries()) {
    const cells = SYSTEMS.map((s) => `${cpu(w, 8, s, "serverUs")} / ${cpu(w, 8, s, "clientUs")}`);
    console.log(`| ${workload.name} | ${cells.join(" | ")} |`);
  }
  const all = [...results.entries()].map(([k, cells]) => `${k} ${cells.map((c) => c.qps.toFixed(0)).join(", ")}`);
  console.log(`\nall rounds (workload/connections/system queries/s): ${all.join("; ")}`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-rt-"));
  let cluster: PgCluster | null = null;
  let server: Awaited<ReturnType<typeof startMirrorlite>> | null = null;
  const pools = new Map<System, Client[]>();
  const cleanUp = async (): Promise<void> => {
    for (const clients of pools.values()) for (const client of clients) client.close();
    pools.clear();
    await server?.stop();
    server = null;
    cluster?.stop();
    cluster = null;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => { void cleanUp().then(() => process.exit(130)); });
  try {
    cluster = await startPgCluster();
    server = await startMirrorlite(path.join(dir, "mirrorlite"), process.env.BENCH_CPU_PROF);
    await setUpPostgres(cluster.port);
    await setUpMirrorlite(server.port);
    const max = Math.max(...CONNECTIONS);
    for (const system of SYSTEMS) pools.set(system, await openClients(system, max, cluster.port, server.port));
    const pgPid = cluster.pid;
    const tdsPid = server.pid;
    const results = await measure(pools, (system) =>
      (system === "pg" || system === "pg-lean" ? cpuSeconds(pgPid, true) : cpuSeconds(tdsPid, false)));
    report(results, cluster.version);
  } finally {
    await cleanUp();
  }
}

await main();
