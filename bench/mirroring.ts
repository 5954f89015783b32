// Database mirroring, in one run on two real `mirrorlite start` processes on loopback, set up
// with the documented T-SQL (certificate example, full + log backup restored WITH NORECOVERY,
// SET PARTNER on the mirror then the principal; test/support/mirroring.ts):
// 1. single-row INSERT commits/s at 1, 8 and 32 connections against an unmirrored database on
//    the principal's instance, the mirrored database under SAFETY FULL (SYNCHRONIZED) and the
//    same database under SAFETY OFF. Each mirrored cell runs in a pair with an unmirrored cell
//    right beside it (the order alternating), BENCH_ROUNDS pairs per configuration and size, the
//    OFF pairs together and the FULL pairs together; medians, and the median of the pairs' ratios;
// 2. log bytes shipped per transaction, raw records and on the wire (page deltas + deflate),
//    from sys.dm_os_performance_counters ('Log Bytes Sent/sec', 'Log Compressed Bytes Sent/sec');
// 3. catch-up: SET PARTNER SUSPEND, ~BENCH_CATCHUP_MB of log from wide multi-row inserts,
//    SET PARTNER RESUME, time until the mirror's mirroring_end_of_log_lsn equals the principal's.
// Also CPU per commit of each process (/proc) beside the rates. Prints markdown tables. Every
// process it starts is stopped by pid, also on failure or interruption. Never part of `npm test`.
// Environment: BENCH_ROUNDS (3), BENCH_SECONDS per cell (5), BENCH_CONNECTIONS (1,8,32),
// BENCH_CONFIGS (unmirrored,full,off; unmirrored is always needed), BENCH_CATCHUP_MB (80), BENCH_CLIENT
// lean (raw TDS, bench/tds_lean_client.ts) or tedious, BENCH_CPU_PROF=DIR (both servers under
// --cpu-prof; progress lines on stderr give each cell's seconds for profile_summary FROM TO),
// BENCH_VERBOSE=1 (the servers' stderr), BENCH_PERF_DIR=DIR (`perf record -g` of both servers per cell),
// BENCH_MIRROR_DIR=DIR (the mirror's files there, e.g. /dev/shm: a diagnostic of disk sharing), BENCH_PIN=mirror (the mirror process alone on CPU 1, the
// principal and the bench's clients on CPU 0, every thread, with taskset: the mirror as users run
// it, on a host of its own; the unmirrored cells run pinned the same way).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  certificateExample, freeEndpointPort, mirroringRow, seedMirror, setPartners, synchronized, waitForRow,
  type Host, type MirroringRow,
} from "../test/support/mirroring.js";
import { close, connect, queryExplained as query, SA_PASSWORD, startServer as startTestServer, type Server } from "../test/support/server.js";
import { REDO_SEAL_INTERVAL_MS } from "../src/mirroring/runtime/mirror_log.js";
import { LeanClient } from "./tds_lean_client.js";
import { median } from "./support.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "1,8,32").split(",").map(Number);
const CATCHUP_MB = Number(process.env.BENCH_CATCHUP_MB ?? 80);
const CLIENT = (process.env.BENCH_CLIENT ?? "lean") as "lean" | "tedious";
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PIN_MIRROR = process.env.BENCH_PIN === "mirror";
/** BENCH_PERF_DIR: `perf record` of principal and mirror around each cell (CPU time, kernel included). */
const PERF_DIR = process.env.BENCH_PERF_DIR;
/**
 * BENCH_MIRROR_DIR: where the mirror's instance keeps its files (default: beside the principal's,
 * on the same disk). A diagnostic: on one VM the mirror's log writes, fsyncs and preallocation
 * queue on the principal's disk, which two hosts never share.
 */
const MIRROR_DIR = process.env.BENCH_MIRROR_DIR;
const PAYLOAD = "x".repeat(40);
const PLAIN = "plain_db";
const MIRRORED = "mirror_db";
const TABLE = "CREATE TABLE t (id BIGINT PRIMARY KEY, note NVARCHAR(40))";
/** Catch-up workload: rows of WIDE_CHARS characters, WIDE_ROWS per INSERT, WIDE_WRITERS connections. */
const WIDE_CHARS = 2000;
const WIDE_ROWS = 16;
const WIDE_WRITERS = 4;

type Config = "unmirrored" | "full" | "off";
const CONFIGS = (process.env.BENCH_CONFIGS ?? "unmirrored,full,off").split(",") as readonly Config[];
if (!CONFIGS.includes("unmirrored")) throw new Error("BENCH_CONFIGS must include unmirrored: every ratio is to it");
/** The mirrored configurations, each measured in pairs with an unmirrored cell. */
const MODES = CONFIGS.filter((config) => config !== "unmirrored");
const LABEL: Record<Config, string> = { unmirrored: "unmirrored", full: "SAFETY FULL", off: "SAFETY OFF" };

/** Every server process the bench started, so that `finally` (and exit) can stop each by pid. */
const servers: Server[] = [];
/** Every child process spawned, ready or not: the exit handler kills whatever still runs. */
const children: ChildProcess[] = [];
/** When the first server was spawned: progress lines give times from it (profile_summary FROM/TO). */
let firstSpawn: number | null = null;

/** A `mirrorlite start` process on loopback, optionally under --cpu-prof; stop() escalates to SIGKILL after 30 s. */
async function startServer(dataDir: string): Promise<Server> {
  const nodeFlags = PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`];
  // JIT symbol maps in /tmp/perf-PID.map, so perf can name JavaScript functions. The V8 log that
  // flag also writes goes to PERF_DIR, one file per server, not into the working directory.
  if (PERF_DIR !== undefined) {
    nodeFlags.push("--perf-basic-prof", "--no-logfile-per-isolate", `--logfile=${path.join(PERF_DIR, `v8-${path.basename(dataDir)}.log`)}`);
  }
  firstSpawn ??= performance.now();
  const server = await startTestServer(dataDir, {}, [], { nodeFlags, onSpawn: (child) => children.push(child) });
  const { child } = server;
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<number | null>((resolve) => {
    if (!running()) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  const stoppable: Server = {
    ...server,
    async stop() {
      if (running()) process.kill(child.pid!, "SIGTERM");
      const timer = setTimeout(() => { if (running()) process.kill(child.pid!, "SIGKILL"); }, 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (running()) process.kill(child.pid!, "SIGKILL");
      await exited;
    },
  };
  servers.push(stoppable);
  return stoppable;
}

async function startHost(dir: string, name: string): Promise<Host> {
  const dataDir = path.join(dir, name);
  const server = await startServer(dataDir);
  // Not an object literal typed as Host, so the bench follows Host as test support grows fields.
  const host = { name, dataDir, endpointPort: await freeEndpointPort(), args: [] as readonly string[], server,
    sa: await connect(server.port) };
  return host;
}

// Stopping on every way out: `finally` stops them cleanly; a bench killed mid-run still takes
// its servers with it.
const tempDirs: string[] = [];
process.once("exit", () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(child.pid!, "SIGKILL"); } catch { /* already gone */ }
    }
  }
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch { /* best effort */ }
  }
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

interface Client { batch(sql: string): Promise<void>; close(): void }

async function openClient(port: number, database: string): Promise<Client> {
  if (CLIENT === "lean") return LeanClient.connect(port, "sa", SA_PASSWORD, database);
  const connection = await connect(port, database, SA_PASSWORD, { requestTimeout: 0 });
  return { batch: async (sql) => { await query(connection, sql); }, close: () => connection.close() };
}

/** `n` clients, each committing single-row inserts back to back for SECONDS; returns commits. */
async function insertCell(clients: readonly Client[], n: number, idBase: number): Promise<{ commits: number; seconds: number }> {
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let commits = 0;
  await Promise.all(clients.slice(0, n).map(async (client, w) => {
    for (let i = 0; performance.now() < end; i++) {
      await client.batch(`INSERT INTO t VALUES (${idBase + w * 10_000_000 + i}, N'${PAYLOAD}')`);
      commits++;
    }
  }));
  return { commits, seconds: (performance.now() - start) / 1000 };
}

const COUNTERS_SQL = (db: string) => `SELECT counter_name, cntr_value FROM sys.dm_os_performance_counters
  WHERE object_name LIKE 'SQLServer:Database Mirroring%' AND instance_name = '${db}'`;

async function counters(host: Host, db: string): Promise<Map<string, number>> {
  const result = await query(host.sa, COUNTERS_SQL(db));
  return new Map(result.rows[0]!.map((row) => [String(row.counter_name).trim(), Number(row.cntr_value)]));
}

function lsn(row: MirroringRow): number {
  return Number(row.mirroring_end_of_log_lsn);
}

/** Polls (every 50 ms) until the mirror has hardened the principal's end of log; returns ms waited. */
async function caughtUp(principal: Host, mirror: Host, db: string, timeoutMs = 120_000): Promise<number> {
  const start = performance.now();
  const target = lsn(await mirroringRow(principal, db));
  for (;;) {
    if (lsn(await mirroringRow(mirror, db)) >= target) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`${db}: mirror not caught up with LSN ${target} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `perf record` of one server process into PERF_DIR/CELL-HOST.data (stopped by pid, SIGINT). */
function startPerf(host: Host, cell: string): ChildProcess {
  const child = spawn("perf", ["record", "-q", "-F", "999", "-g", "-p", String(host.server.pid), "-o",
    path.join(PERF_DIR!, `${cell}-${host.name}.data`)], { stdio: "ignore" });
  children.push(child);
  return child;
}

async function stopPerf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid!, "SIGINT");
  await exited;
}

/** The mirror hardened the principal's end of log and redid all of it (redo queue empty). */
async function settled(principal: Host, mirror: Host, db: string): Promise<void> {
  await caughtUp(principal, mirror, db);
  await waitForRow(mirror, db, (row) => Number(row.mirroring_redo_queue ?? 0) === 0, "mirror redo queue empty", 120_000);
}

async function setSafety(principal: Host, mirror: Host, level: "FULL" | "OFF"): Promise<void> {
  const row = await mirroringRow(principal, MIRRORED);
  if (row.mirroring_safety_level_desc !== level) {
    await query(principal.sa, `ALTER DATABASE ${MIRRORED} SET PARTNER SAFETY ${level}`);
  }
  await waitForRow(principal, MIRRORED, (r) => r.mirroring_safety_level_desc === level, `principal SAFETY ${level}`);
  await waitForRow(mirror, MIRRORED, (r) => r.mirroring_safety_level_desc === level, `mirror SAFETY ${level}`);
  if (level === "FULL") await waitForRow(principal, MIRRORED, synchronized, "principal SYNCHRONIZED");
  await caughtUp(principal, mirror, MIRRORED);
}

/** CPU time of a process, all its threads (user + system), in ms, from /proc (Linux). */
const TICK_MS = 1000 / Number(process.env.BENCH_CLK_TCK ?? 100);
function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

function benchCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

interface Cpu { principal: number; mirror: number; client: number }

function cpuNow(a: Host, b: Host): Cpu {
  return { principal: processCpuMs(a.server.pid), mirror: processCpuMs(b.server.pid), client: benchCpuMs() };
}

interface Shipped {
  config: Config; n: number; commits: number; logBytes: number; wireBytes: number; delayMs: number; mirrored: number;
  /** Messages each way on the mirroring connection (Sends/sec and Receives/sec on the principal). */
  sends: number; receives: number;
}

interface CellBench {
  readonly a: Host; readonly b: Host; readonly pools: Record<"plain" | "mirrored", Client[]>;
  readonly rates: Map<string, number[]>; readonly cpu: Map<string, Cpu[]>; readonly shipped: Shipped[];
  cellIndex: number;
}

/** Appends `value` to the list kept under `key`. */
function append<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** The median of the list kept under `key`, null when nothing was measured. */
function medianAt(map: Map<string, number[]>, key: string): number | null {
  const list = map.get(key);
  return list === undefined ? null : median(list);
}

/** One cell: `n` connections of inserts under `config`; records its rate, CPU and counters, returns the rate. */
async function runCell(bench: CellBench, config: Config, n: number, round: number): Promise<number> {
  const { a, b } = bench;
  if (config !== "unmirrored") await setSafety(a, b, config === "full" ? "FULL" : "OFF");
  const pool = config === "unmirrored" ? bench.pools.plain : bench.pools.mirrored;
  const before = config === "unmirrored" ? null : await counters(a, MIRRORED);
  const perf = PERF_DIR === undefined ? [] : [a, b].map((host) => startPerf(host, `${config}-${n}-r${round + 1}`));
  const cpuBefore = cpuNow(a, b);
  const cellStart = (performance.now() - firstSpawn!) / 1000;
  const result = await insertCell(pool, n, ++bench.cellIndex * 100_000_000_000);
  if (config !== "unmirrored") {
    // A mirrored cell's CPU includes the mirror finishing its work for those commits: hardening,
    // redo and the seal that makes the redo durable. None of it spills into the next cell.
    await settled(a, b, MIRRORED);
    await new Promise((resolve) => setTimeout(resolve, 2 * REDO_SEAL_INTERVAL_MS));
  }
  const cpuAfter = cpuNow(a, b);
  await Promise.all(perf.map(stopPerf));
  const key = `${config}/${n}`;
  const perCommit = (k: keyof Cpu): number => ((cpuAfter[k] - cpuBefore[k]) * 1000) / result.commits;
  append(bench.cpu, key, { principal: perCommit("principal"), mirror: perCommit("mirror"), client: perCommit("client") });
  const rate = result.commits / result.seconds;
  append(bench.rates, key, rate);
  if (before !== null) {
    const after = await counters(a, MIRRORED);
    const delta = (name: string): number => after.get(name)! - before.get(name)!;
    bench.shipped.push({ config, n, commits: result.commits, logBytes: delta("Log Bytes Sent/sec"),
      wireBytes: delta("Log Compressed Bytes Sent/sec"), delayMs: delta("Transaction Delay"),
      sends: delta("Sends/sec"), receives: delta("Receives/sec"),
      mirrored: delta("Mirrored Write Transactions/sec") });
  }
  console.error(`round ${round + 1}, ${n} conn, ${LABEL[config]}: ${rate.toFixed(0)} commits/s `
    + `(t ${cellStart.toFixed(1)}–${(cellStart + result.seconds).toFixed(1)} s; principal pid ${a.server.pid}, mirror pid ${b.server.pid})`);
  return rate;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-mirroring-"));
  tempDirs.push(dir);
  if (PROFILE_DIR !== undefined) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  if (PERF_DIR !== undefined) fs.mkdirSync(PERF_DIR, { recursive: true });
  const hosts: Host[] = [];
  const clients: Client[] = [];
  const rates = new Map<string, number[]>();
  const shipped: Shipped[] = [];
  const cpu = new Map<string, Cpu[]>();
  const pairRatios = new Map<string, number[]>();
  const started = performance.now();
  let catchup: Catchup | null = null;
  try {
    const a = await startHost(dir, "HOST_A");
    hosts.push(a);
    let mirrorDir = dir;
    if (MIRROR_DIR !== undefined) {
      mirrorDir = fs.mkdtempSync(path.join(MIRROR_DIR, "mirrorlite-bench-mirror-"));
      tempDirs.push(mirrorDir);
    }
    const b = await startHost(mirrorDir, "HOST_B");
    hosts.push(b);
    await certificateExample(dir, a, b);
    await query(a.sa, `CREATE DATABASE ${PLAIN}`);
    await query(a.sa, `USE ${PLAIN}; ${TABLE}`);
    await query(a.sa, `USE master; CREATE DATABASE ${MIRRORED}`);
    await query(a.sa, `USE ${MIRRORED}; ${TABLE};
      CREATE TABLE wide (id INT IDENTITY(1,1) PRIMARY KEY, v NVARCHAR(4000)); USE master`);
    await seedMirror(dir, a, b, MIRRORED);
    await setPartners(a, b, MIRRORED);
    await waitForRow(a, MIRRORED, synchronized, "principal SYNCHRONIZED");
    await waitForRow(b, MIRRORED, synchronized, "mirror SYNCHRONIZED");
    if (PIN_MIRROR) {
      // Every thread of each process (-a); threads started later inherit their creator's CPUs.
      for (const [pid, cpu] of [[a.server.pid, "0"], [process.pid, "0"], [b.server.pid, "1"]] as const) {
        execFileSync("taskset", ["-a", "-p", "-c", cpu, String(pid)], { stdio: "ignore" });
      }
      console.error("pinned: principal and bench clients on CPU 0, mirror on CPU 1");
    }
    console.error(`setup: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const pools: Record<"plain" | "mirrored", Client[]> = { plain: [], mirrored: [] };
    for (const [pool, db] of [["plain", PLAIN], ["mirrored", MIRRORED]] as const) {
      for (let i = 0; i < Math.max(...CONNECTIONS); i++) {
        const client = await openClient(a.server.port, db);
        clients.push(client);
        pools[pool].push(client);
      }
    }
    // Warm-up of both databases (statement caches, page caches, JIT).
    await insertCell(pools.plain, 8, 9_000_000_000);
    await insertCell(pools.mirrored, 8, 9_000_000_000);
    await caughtUp(a, b, MIRRORED);

    const bench: CellBench = { a, b, pools, rates, cpu, shipped, cellIndex: 0 };
    for (const n of CONNECTIONS) {
      for (const mode of MODES) {
        for (let round = 0; round < ROUNDS; round++) {
          // A pair of adjacent cells, its order alternating: drift cancels in the pair's ratio.
          const pair: Config[] = (round + CONNECTIONS.indexOf(n)) % 2 === 0 ? ["unmirrored", mode] : [mode, "unmirrored"];
          const got = new Map<Config, number>();
          for (const config of pair) got.set(config, await runCell(bench, config, n, round));
          append(pairRatios, `${mode}/${n}`, got.get(mode)! / got.get("unmirrored")!);
        }
      }
    }

    // 3. Catch-up.
    await setSafety(a, b, "FULL");
    catchup = await measureCatchup(a, b);

    // The DMVs as a user sees them (one sample, for the record).
    const connections = await query(a.sa, `SELECT state_desc, is_accept, login_state_desc, encryption_algorithm_desc,
      peer_certificate_id, total_bytes_sent, total_bytes_received FROM sys.dm_db_mirroring_connections`);
    console.error(`sys.dm_db_mirroring_connections on the principal: ${JSON.stringify(connections.rows[0])}`);
    const sample = await query(a.sa, COUNTERS_SQL(MIRRORED));
    console.error(`sys.dm_os_performance_counters for ${MIRRORED} on the principal: `
      + sample.rows[0]!.map((row) => `${String(row.counter_name).trim()}=${String(row.cntr_value)}`).join(", "));
  } finally {
    for (const client of clients) client.close();
    for (const host of hosts) await close(host.sa).catch(() => undefined);
    const codes = await Promise.all(servers.map((server) => server.stop()));
    if (codes.some((code) => code !== 0)) {
      console.error(`server exit codes ${codes.join(", ")}`);
      for (const server of servers) console.error(server.output().split("\n").slice(-20).join("\n"));
    }
    // The mirror's own directory too: with BENCH_MIRROR_DIR=/dev/shm it holds memory.
    for (const temp of tempDirs) fs.rmSync(temp, { recursive: true, force: true });
  }
  print(rates, pairRatios, cpu, shipped, catchup!, (performance.now() - started) / 1000);
}

interface Catchup { logMb: number; wireMb: number; seconds: number; writeSeconds: number }

/** One INSERT of WIDE_ROWS rows of WIDE_CHARS base64 characters (deflate takes ~25% off). */
function wideInsert(): string {
  const values = Array.from({ length: WIDE_ROWS }, () => `(N'${randomBytes(WIDE_CHARS * 3 / 4).toString("base64")}')`);
  return `INSERT INTO wide (v) VALUES ${values.join(", ")}`;
}

async function wideBatches(writers: readonly Client[], batches: number): Promise<void> {
  let next = 0;
  await Promise.all(writers.map(async (writer) => {
    while (next++ < batches) await writer.batch(wideInsert());
  }));
}

/**
 * Suspend, write ~CATCHUP_MB of log, resume, time the mirror's catch-up. The number of batches
 * comes from the log bytes a batch ships while the session runs (Log Bytes Sent/sec), measured
 * first; the catch-up's bytes are the counter's own delta.
 */
async function measureCatchup(a: Host, b: Host): Promise<Catchup> {
  const writers = await Promise.all(Array.from({ length: WIDE_WRITERS }, () => openClient(a.server.port, MIRRORED)));
  try {
    const calibration = 64;
    let before = await counters(a, MIRRORED);
    await wideBatches(writers, calibration);
    await caughtUp(a, b, MIRRORED);
    let after = await counters(a, MIRRORED);
    const bytesPerBatch = (after.get("Log Bytes Sent/sec")! - before.get("Log Bytes Sent/sec")!) / calibration;

    await query(a.sa, `ALTER DATABASE ${MIRRORED} SET PARTNER SUSPEND`);
    await waitForRow(a, MIRRORED, (r) => r.mirroring_state_desc === "SUSPENDED", "principal SUSPENDED");
    // Nothing is written yet and the mirror has everything: the send queue should be empty.
    const queuedKb = (await counters(a, MIRRORED)).get("Log Send Queue KB")!;
    const writeStart = performance.now();
    console.error(`catch-up: SUSPENDED (Log Send Queue KB ${queuedKb} before any write), writing from t `
      + `${((writeStart - firstSpawn!) / 1000).toFixed(1)} s`);
    await wideBatches(writers, Math.ceil((CATCHUP_MB * 1024 * 1024) / bytesPerBatch));
    const writeSeconds = (performance.now() - writeStart) / 1000;

    before = await counters(a, MIRRORED);
    const start = performance.now();
    await query(a.sa, `ALTER DATABASE ${MIRRORED} SET PARTNER RESUME`);
    await caughtUp(a, b, MIRRORED, 240_000);
    const seconds = (performance.now() - start) / 1000;
    console.error(`catch-up: RESUME at t ${((start - firstSpawn!) / 1000).toFixed(1)} s, caught up after ${seconds.toFixed(2)} s`);
    // The mirror hardened the last record, so the LOG message that carried it is counted.
    after = await counters(a, MIRRORED);
    await waitForRow(a, MIRRORED, synchronized, "principal SYNCHRONIZED after RESUME");
    const mb = (name: string): number => (after.get(name)! - before.get(name)!) / (1024 * 1024);
    return { logMb: mb("Log Bytes Sent/sec"), wireMb: mb("Log Compressed Bytes Sent/sec"), seconds, writeSeconds };
  } finally {
    for (const writer of writers) writer.close();
  }
}

function print(rates: Map<string, number[]>, pairRatios: Map<string, number[]>, cpu: Map<string, Cpu[]>,
  shipped: Shipped[], catchup: Catchup, totalSeconds: number): void {
  const fmt = (values: number[]): string => values.map((v) => v.toFixed(0)).join(", ");
  const placement = (PIN_MIRROR ? "mirror alone on CPU 1, principal and clients on CPU 0" : "client, principal and mirror share both CPUs")
    + (MIRROR_DIR === undefined ? "" : `; mirror's files in ${MIRROR_DIR}`);
  console.log(`client: ${CLIENT}; ${placement}; ${SECONDS}s per cell, ${ROUNDS} pairs per mirrored configuration `
    + `and size; total ${totalSeconds.toFixed(0)} s\n`);
  const rate = (config: Config, n: number): number | null => medianAt(rates, `${config}/${n}`);
  const pairs = (mode: Config, n: number): number | null => medianAt(pairRatios, `${mode}/${n}`);
  const x = (value: number | null): string => value === null ? "–" : `${value.toFixed(2)}×`;
  const r = (value: number | null): string => value === null ? "–" : value.toFixed(0);
  console.log("| single-row INSERT commits/s, medians | unmirrored | SAFETY FULL | FULL / unmirrored: of medians (median of pairs) "
    + "| SAFETY OFF | OFF / unmirrored: of medians (median of pairs) |");
  console.log("|---|---|---|---|---|---|");
  for (const n of CONNECTIONS) {
    const u = rate("unmirrored", n)!;
    const ratio = (mode: Config): string => {
      const m = rate(mode, n);
      return m === null ? "–" : `${x(m / u)} (${x(pairs(mode, n))})`;
    };
    console.log(`| ${n} connection${n > 1 ? "s" : ""} | ${r(u)} | ${r(rate("full", n))} | ${ratio("full")} `
      + `| ${r(rate("off", n))} | ${ratio("off")} |`);
  }
  // The verdicts use the median of pair ratios: each pair ran back to back, so the machine's drift
  // (unmirrored cells alone spread by 2x over a run here) cancels inside it.
  const verdict = (mode: Config, sizes: readonly number[], target: number): string => {
    const values = sizes.map((n) => pairs(mode, n));
    if (values.length === 0 || values.some((v) => v === null)) return "not measured";
    const lowest = Math.min(...(values as number[]));
    return `${lowest >= target ? "met" : "NOT met"} (lowest median of pairs ${lowest.toFixed(2)}×)`;
  };
  console.log(`\ntargets: SAFETY OFF ≥ 0.90× unmirrored: ${verdict("off", CONNECTIONS, 0.9)}; `
    + `SAFETY FULL ≥ 0.60× at 32 connections: ${verdict("full", CONNECTIONS.filter((n) => n === 32), 0.6)}`);
  console.log(`pair ratios: ${CONNECTIONS.map((n) => `${n}: ${MODES
    .map((c) => `${LABEL[c]} ${(pairRatios.get(`${c}/${n}`) ?? []).map((v) => v.toFixed(2)).join(", ")}`).join(" / ")}`).join("; ")}`);
  console.log(`all rates: ${CONNECTIONS.map((n) => `${n}: ${CONFIGS.map((c) => `${LABEL[c]} ${fmt(rates.get(`${c}/${n}`) ?? [])}`).join(" / ")}`).join("; ")}`);

  console.log(`\n| CPU µs per commit (median of cells): principal process / mirror process / bench client | ${CONFIGS.map((c) => LABEL[c]).join(" | ")} |`);
  console.log(`|---|${CONFIGS.map(() => "---|").join("")}`);
  for (const n of CONNECTIONS) {
    const cellText = (config: Config): string => {
      const cells = cpu.get(`${config}/${n}`)!;
      const m = (k: keyof Cpu): string => median(cells.map((c) => c[k])).toFixed(0);
      return `${m("principal")} / ${m("mirror")} / ${m("client")}`;
    };
    console.log(`| ${n} connection${n > 1 ? "s" : ""} | ${CONFIGS.map(cellText).join(" | ")} |`);
  }

  console.log("\n| log shipped per transaction (median of rounds) | raw record bytes | on the wire (deltas + deflate) | wire / raw "
    + "| commit delay (ms, FULL) | commits per message sent / received |");
  console.log("|---|---|---|---|---|---|");
  let worstWire = 0;
  for (const config of MODES) {
    for (const n of CONNECTIONS) {
      const cells = shipped.filter((s) => s.config === config && s.n === n);
      const raw = median(cells.map((s) => s.logBytes / s.commits));
      const wire = median(cells.map((s) => s.wireBytes / s.commits));
      worstWire = Math.max(worstWire, wire);
      const delay = config === "full" ? median(cells.map((s) => s.delayMs / Math.max(1, s.mirrored))).toFixed(2) : "–";
      const perSent = median(cells.map((s) => s.commits / Math.max(1, s.sends)));
      const perReceived = median(cells.map((s) => s.commits / Math.max(1, s.receives)));
      console.log(`| ${LABEL[config]}, ${n} connection${n > 1 ? "s" : ""} | ${raw.toFixed(0)} | ${wire.toFixed(0)} `
        + `| ${(wire / raw).toFixed(3)} | ${delay} | ${perSent.toFixed(1)} / ${perReceived.toFixed(1)} |`);
    }
  }
  console.log(`\ntarget: ≤ 500 wire bytes per single-row insert: ${worstWire <= 500 ? "met" : "NOT met"} (highest median ${worstWire.toFixed(0)})`);

  console.log(`\ncatch-up after SUSPEND: ${catchup.logMb.toFixed(1)} MiB of log (${catchup.wireMb.toFixed(1)} MiB on the wire) `
    + `written in ${catchup.writeSeconds.toFixed(1)} s (${(catchup.logMb / catchup.writeSeconds).toFixed(1)} MiB/s generated); `
    + `RESUME to the mirror at the principal's end of log: ${catchup.seconds.toFixed(2)} s = `
    + `**${(catchup.logMb / catchup.seconds).toFixed(1)} MiB/s of log**`);
}

await main();
