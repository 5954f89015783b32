// Starts a real `mirrorlite start` process on loopback (port 0) and stops it by its pid.
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Connection, Request } from "tedious";

export const SA_PASSWORD = "Mirr0r!lite-test";
export const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

export interface Server {
  readonly pid: number;
  readonly port: number;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** SIGTERM and wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Node's own flags, before the script (e.g. --cpu-prof for a benchmark). */
  readonly nodeFlags?: readonly string[];
  /** Told of the child as soon as it exists, before it is ready (cleanup on any way out). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/** `args` go after the fixed ones, e.g. ["--force-encryption"] or ["--tls-cert", f, "--tls-key", k]. */
export async function startServer(dataDir: string, env: Record<string, string> = {},
  args: readonly string[] = [], options: StartOptions = {}): Promise<Server> {
  const child = spawn(process.execPath, [...options.nodeFlags ?? [], MAIN, "start", "--data", dataDir, "--port", "0",
    "--listen", "127.0.0.1", "--name", "MLTEST", ...args], {
    env: { ...process.env, MSSQL_SA_PASSWORD: SA_PASSWORD, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  options.onSpawn?.(child);
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    if (process.env.MIRRORLITE_TEST_VERBOSE === "1" || process.env.BENCH_VERBOSE === "1") process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^ready .* listening on [^ ]+:(\d+)/m.exec(output);
      if (match !== null) resolve(Number(match[1]));
    });
    void exited.then((code) => reject(new Error(`server exited (${code}) before ready:\n${output}`)));
  });
  return {
    pid: child.pid!, port, child, output: () => output,
    async stop() {
      process.kill(child.pid!, "SIGTERM");
      return exited;
    },
    async kill() {
      process.kill(child.pid!, "SIGKILL");
      await exited;
    },
  };
}

export function connect(port: number, database?: string, password = SA_PASSWORD,
  options: Record<string, unknown> = {}): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: "127.0.0.1",
      authentication: { type: "default", options: { userName: "sa", password } },
      options: { port, encrypt: false, ...(database === undefined ? {} : { database }),
        connectTimeout: 15_000, requestTimeout: 60_000, ...options },
    });
    // A connection whose server was killed reports it here; the test sees it as a failed request.
    connection.on("error", () => undefined);
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

export interface BatchResult { rows: Record<string, unknown>[][]; rowCount: number; columns: { name: string; type: string }[][] }

/** Runs a SQL batch; resolves with every result set's rows keyed by column name. */
export function query(connection: Connection, sql: string): Promise<BatchResult> {
  return new Promise((resolve, reject) => {
    const result: BatchResult = { rows: [], rowCount: 0, columns: [] };
    const request = new Request(sql, (error, rowCount) => {
      if (error) reject(error);
      else resolve({ ...result, rowCount: rowCount ?? 0 });
    });
    request.on("columnMetadata", (columns) => {
      const list = (Array.isArray(columns) ? columns : Object.values(columns)) as { colName: string; type: { name: string } }[];
      result.columns.push(list.map((column) => ({ name: column.colName, type: column.type.name })));
      result.rows.push([]);
    });
    request.on("row", (values) => {
      const list = (Array.isArray(values) ? values : Object.values(values)) as { value: unknown; metadata: { colName: string } }[];
      result.rows[result.rows.length - 1]!.push(Object.fromEntries(list.map((c) => [c.metadata.colName, c.value])));
    });
    connection.execSqlBatch(request);
  });
}

export function close(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.closed) return resolve();
    connection.once("end", () => resolve());
    connection.close();
  });
}

/** Runs a batch; a failure names the batch and every error it reported (`errors`, `number`). */
export function queryExplained(connection: Connection, sql: string): Promise<BatchResult> {
  return query(connection, sql).catch((error: unknown) => {
    const list = (error as { errors?: unknown[] }).errors ?? [error];
    throw Object.assign(new Error(`${sql}: ${list.map((item) => {
      const e = item as { number: number; message: string };
      return `${e.number} ${e.message}`;
    }).join("; ")}`), { errors: list, number: (list[0] as { number: number }).number });
  });
}

/** Every SQL Server error number a failed batch reported, in order (none: it succeeded). */
export async function errorNumbers(run: Promise<unknown>): Promise<number[]> {
  try {
    await run;
  } catch (error) {
    return ((error as { errors?: unknown[] }).errors ?? [error]).map((item) => (item as { number: number }).number);
  }
  return [];
}
