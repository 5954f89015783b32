// What the bench runners share: medians, a real `mirrorlite start` process on loopback
// (stopped by its pid), and tedious connections running SQL batches.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Connection, Request } from "tedious";

export const PASSWORD = "Bench!Passw0rd";
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  // An even count averages the two middle values: taking the upper one flattered every ratio.
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface BenchServer { readonly port: number; readonly pid: number; stop(): Promise<void> }

/** Starts an instance on a free loopback port; with `profileDir`, under `--cpu-prof`. */
export async function startMirrorlite(dataDir: string, profileDir?: string): Promise<BenchServer> {
  const flags = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...flags, MAIN, "start", "--data", dataDir, "--port", "0",
    "--listen", "127.0.0.1"], {
    env: { ...process.env, MSSQL_SA_PASSWORD: PASSWORD }, stdio: ["ignore", "pipe", "inherit"],
  });
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
  return {
    port, pid: child.pid!,
    stop: async () => {
      process.kill(child.pid!, "SIGTERM");
      await exited;
    },
  };
}

export function tediousConnect(port: number, database: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: "127.0.0.1",
      authentication: { type: "default", options: { userName: "sa", password: PASSWORD } },
      options: { port, database, encrypt: false, requestTimeout: 0 },
    });
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

/** Runs a batch; resolves with the number of rows its result sets returned. */
export function tediousBatch(connection: Connection, sql: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let rows = 0;
    const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
    request.on("row", () => { rows += 1; });
    connection.execSqlBatch(request);
  });
}
