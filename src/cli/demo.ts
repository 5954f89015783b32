// `mirrorlite demo`: two instances on loopback mirror a database, set up with the documented
// T-SQL only (certificate example: master keys, certificates, endpoints, logins, GRANT CONNECT;
// full and log backups restored WITH NORECOVERY; SET PARTNER on the mirror, then the principal),
// then a workload under SAFETY FULL, a manual failover in the middle of it, and a verdict: is
// every acknowledged row on the new principal? Exit code 0 only when it is.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Connection, Request } from "tedious";
import { freeEndpointPort } from "../endpoint/free_port.js";

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");
const DB = "shop";

interface DemoHost {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly endpointPort: number;
  sa: Connection;
}

export async function runDemo(args: readonly string[]): Promise<number> {
  const keep = args.includes("--keep");
  const writers = Number(valueOf(args, "--connections") ?? 8);
  const seconds = Number(valueOf(args, "--seconds") ?? 6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-demo-"));
  const password = `Demo#${randomBytes(6).toString("hex")}`;
  const hosts: DemoHost[] = [];
  try {
    say(`data in ${dir}`);
    for (const name of ["HOST_A", "HOST_B"]) hosts.push(await startHost(dir, name, password));
    const [a, b] = hosts as [DemoHost, DemoHost];
    await setUp(dir, a, b);
    const verdict = await workloadWithFailover(a, b, password, writers, seconds);
    return verdict ? 0 : 1;
  } finally {
    for (const host of hosts) await stopHost(host);
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function valueOf(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function setUp(dir: string, a: DemoHost, b: DemoHost): Promise<void> {
  const nextYear = new Date().getUTCFullYear() + 1;
  const cer = (host: DemoHost): string => path.join(dir, `${host.name}_cert.cer`);
  for (const host of [a, b]) {
    await run(host, `-- outbound: master key, certificate, endpoint, certificate file for the partner
USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master#Key_${host.name}1';
CREATE CERTIFICATE ${host.name}_cert WITH SUBJECT = '${host.name} certificate for database mirroring', EXPIRY_DATE = '${nextYear}-12-31';
CREATE ENDPOINT Endpoint_Mirroring STATE = STARTED AS TCP (LISTENER_PORT = ${host.endpointPort}, LISTENER_IP = ALL)
  FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE ${host.name}_cert, ENCRYPTION = REQUIRED ALGORITHM AES, ROLE = ALL);
BACKUP CERTIFICATE ${host.name}_cert TO FILE = '${cer(host)}';`);
  }
  for (const [host, peer] of [[a, b], [b, a]] as const) {
    await run(host, `-- inbound: a login for the partner, its certificate, CONNECT on the endpoint
USE master; CREATE LOGIN ${peer.name}_login WITH PASSWORD = 'Sample#2_Strong_${peer.name}';
CREATE USER ${peer.name}_user FOR LOGIN ${peer.name}_login;
CREATE CERTIFICATE ${peer.name}_cert AUTHORIZATION ${peer.name}_user FROM FILE = '${cer(peer)}';
GRANT CONNECT ON ENDPOINT::Endpoint_Mirroring TO [${peer.name}_login];`);
  }
  await run(a, `CREATE DATABASE ${DB};`);
  await run(a, `USE ${DB}; CREATE TABLE orders (id INT PRIMARY KEY, writer INT NOT NULL, note NVARCHAR(40) NOT NULL);`);
  await run(a, `BACKUP DATABASE ${DB} TO DISK = '${path.join(dir, "shop_full.bak")}' WITH FORMAT;
BACKUP LOG ${DB} TO DISK = '${path.join(dir, "shop_log.trn")}' WITH FORMAT;`);
  await run(b, `RESTORE DATABASE ${DB} FROM DISK = '${path.join(dir, "shop_full.bak")}' WITH NORECOVERY;
RESTORE LOG ${DB} FROM DISK = '${path.join(dir, "shop_log.trn")}' WITH NORECOVERY;`);
  await run(b, `ALTER DATABASE ${DB} SET PARTNER = 'TCP://127.0.0.1:${a.endpointPort}';`);
  await run(a, `ALTER DATABASE ${DB} SET PARTNER = 'TCP://127.0.0.1:${b.endpointPort}';`);
  await waitFor(a, "SYNCHRONIZED", "PRINCIPAL");
  say(`${a.name}: ${await stateOf(a)}; ${b.name}: ${await stateOf(b)}`);
}

/** Writers insert rows on whichever partner is principal; a FAILOVER runs halfway through. */
async function workloadWithFailover(a: DemoHost, b: DemoHost, password: string, writers: number,
  seconds: number): Promise<boolean> {
  const acknowledged = new Set<number>();
  let principal = a;
  let nextId = 1;
  const deadline = Date.now() + seconds * 1000;
  const writer = async (index: number): Promise<void> => {
    let connection: Connection | null = null;
    while (Date.now() < deadline) {
      try {
        connection ??= await connect(principal.port, password, DB);
        const id = nextId++;
        await exec(connection, `INSERT INTO orders VALUES (${id}, ${index}, N'order ${id}')`);
        acknowledged.add(id);
      } catch {
        // The failover disconnected us (or the database is in transition): reconnect to the principal.
        connection?.close();
        connection = null;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    connection?.close();
  };
  const running = Array.from({ length: writers }, (_, index) => writer(index));
  await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 2));
  const before = acknowledged.size;
  say(`${before} rows acknowledged on ${a.name}; ALTER DATABASE ${DB} SET PARTNER FAILOVER`);
  const started = Date.now();
  await run(a, `USE master; ALTER DATABASE ${DB} SET PARTNER FAILOVER;`);
  await waitFor(b, "SYNCHRONIZED", "PRINCIPAL");
  principal = b;
  say(`failover done in ${Date.now() - started} ms: ${b.name} is the principal, ${a.name} the mirror`);
  await Promise.all(running);
  const rows = await exec(b.sa, `USE ${DB}; SELECT id FROM orders; USE master;`);
  const present = new Set(rows.map((row) => Number(row[0])));
  const missing = [...acknowledged].filter((id) => !present.has(id));
  say(`${acknowledged.size} rows acknowledged in all, ${present.size} on the new principal ${b.name}`);
  say(`${a.name}: ${await stateOf(a)}; ${b.name}: ${await stateOf(b)}`);
  if (missing.length === 0) {
    say("verdict: PASS: every acknowledged row is on the new principal");
    return true;
  }
  say(`verdict: FAIL: ${missing.length} acknowledged rows are missing, e.g. ${missing.slice(0, 10).join(", ")}`);
  return false;
}

async function stateOf(host: DemoHost): Promise<string> {
  const rows = await exec(host.sa, `SELECT m.mirroring_role_desc, m.mirroring_state_desc, m.mirroring_safety_level_desc,
    m.mirroring_role_sequence, m.mirroring_end_of_log_lsn FROM sys.database_mirroring m
    JOIN sys.databases d ON d.database_id = m.database_id WHERE d.name = '${DB}'`);
  const [role, state, safety, sequence, lsn] = rows[0] ?? [];
  return `${String(role)} ${String(state)} (SAFETY ${String(safety)}, role sequence ${String(sequence)}, end of log ${String(lsn)})`;
}

async function waitFor(host: DemoHost, state: string, role: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await exec(host.sa, `SELECT m.mirroring_state_desc, m.mirroring_role_desc FROM sys.database_mirroring m
      JOIN sys.databases d ON d.database_id = m.database_id WHERE d.name = '${DB}'`);
    if (rows[0]?.[0] === state && rows[0]?.[1] === role) return;
    if (Date.now() > deadline) throw new Error(`${host.name} did not reach ${role} ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function run(host: DemoHost, sql: string): Promise<void> {
  say(`${host.name}> ${sql.split("\n").map((line, i) => (i === 0 ? line : `         ${line}`)).join("\n")}`);
  await exec(host.sa, sql);
}

async function startHost(dir: string, name: string, password: string): Promise<DemoHost> {
  const child = spawn(process.execPath, [MAIN, "start", "--data", path.join(dir, name), "--port", "0",
    "--listen", "127.0.0.1", "--name", name], {
    env: { ...process.env, MSSQL_SA_PASSWORD: password }, stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => { output += chunk.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^ready .* listening on [^ ]+:(\d+)/m.exec(output);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`)));
  });
  say(`${name}: instance started, pid ${child.pid}, TDS port ${port}`);
  return { name, child, port, endpointPort: await freeEndpointPort(), sa: await connect(port, password) };
}

async function stopHost(host: DemoHost): Promise<void> {
  host.sa.close();
  if (host.child.exitCode !== null) return;
  const exited = new Promise((resolve) => host.child.once("exit", resolve));
  process.kill(host.child.pid!, "SIGTERM");
  await exited;
}

function connect(port: number, password: string, database?: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({ server: "127.0.0.1",
      authentication: { type: "default", options: { userName: "sa", password } },
      options: { port, encrypt: false, trustServerCertificate: true, connectTimeout: 15_000, requestTimeout: 60_000,
        ...(database === undefined ? {} : { database }) } });
    connection.on("error", () => undefined);
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

function exec(connection: Connection, sql: string): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const rows: unknown[][] = [];
    const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
    request.on("row", (columns: { value: unknown }[]) => rows.push(columns.map((column) => column.value)));
    connection.execSqlBatch(request);
  });
}
