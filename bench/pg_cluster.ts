// A private, throwaway PostgreSQL cluster for the benches: initdb in a temp directory, started
// with pg_ctl on a loopback port (no Unix socket outside that directory), stopped with pg_ctl
// and removed at the end. PostgreSQL refuses to run as root, so under root the binaries run as
// the `postgres` user (runuser) in a directory handed to that user. Trust authentication on
// 127.0.0.1 only: the cluster lives for one bench run and listens nowhere else.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PgCluster {
  readonly port: number;
  /** The postmaster's pid (its children are the backends). */
  readonly pid: number;
  /** `postgres --version`. */
  readonly version: string;
  /** pg_ctl stop (fast), then the directory is removed. Safe to call twice. */
  stop(): void;
}

/** A TCP port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Initialises and starts a cluster; throws with pg_ctl's log when it does not come up. */
export async function startPgCluster(): Promise<PgCluster> {
  if (!fs.existsSync(path.join(PG_BIN, "initdb"))) {
    throw new Error(`PostgreSQL server binaries not found in ${PG_BIN} (apt-get install `
      + "postgresql-15, or set PG_BIN)");
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-pg-"));
  const data = path.join(dir, "data");
  const log = path.join(dir, "server.log");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    fs.chownSync(dir, uid, gid);
  }
  // cwd is the cluster's directory: the postgres user may not be able to read ours.
  const run = (tool: string, args: string[]): string => execFileSync(
    asRoot ? "runuser" : path.join(PG_BIN, tool),
    asRoot ? ["-u", "postgres", "--", path.join(PG_BIN, tool), ...args] : args,
    { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const version = run("postgres", ["--version"]).trim();
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const settings = [`-c listen_addresses=127.0.0.1`, `-c port=${port}`,
    `-c unix_socket_directories=${dir}`, "-c max_connections=40"].join(" ");
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    run("pg_ctl", ["-D", data, "-l", log, "-w", "-o", settings, "start"]);
  } catch (error) {
    const output = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed: ${(error as Error).message}\n${output}`);
  }
  const pid = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  return { port, pid, version, stop };
}
