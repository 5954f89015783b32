// Two real instances mirroring a database, set up exactly as SQL Server's certificate example
// (spec/mirroring.md §6.4) says: outbound (master key, certificate, endpoint, BACKUP CERTIFICATE)
// and inbound (login, user, certificate FROM FILE, GRANT CONNECT) on each host, a full and a log
// backup of the principal restored WITH NORECOVERY on the mirror, then SET PARTNER on the mirror
// and on the principal. Test support, not a test.
import * as path from "node:path";
import type { Connection } from "tedious";
import { freeEndpointPort } from "../../src/endpoint/free_port.js";
import { close, connect, queryExplained as query, startServer, type Server } from "./server.js";

export { freeEndpointPort };

export interface Host {
  readonly name: string;
  readonly dataDir: string;
  readonly endpointPort: number;
  /** Extra `mirrorlite start` arguments, kept for restarts. */
  readonly args?: readonly string[];
  server: Server;
  sa: Connection;
}

export async function startHost(dir: string, name: string, args: readonly string[] = []): Promise<Host> {
  const dataDir = path.join(dir, name);
  const server = await startServer(dataDir, {}, args);
  return { name, dataDir, endpointPort: await freeEndpointPort(), server, sa: await connect(server.port), args };
}

export async function restartHost(host: Host): Promise<void> {
  host.server = await startServer(host.dataDir, {}, host.args ?? []);
  host.sa = await connect(host.server.port);
}

export function address(host: Host): string {
  return `TCP://127.0.0.1:${host.endpointPort}`;
}

const nextYear = `${new Date().getUTCFullYear() + 1}-12-31`;

/** The certificate example's outbound and inbound steps on both hosts. */
export async function certificateExample(dir: string, a: Host, b: Host): Promise<void> {
  const cer = (host: Host): string => path.join(dir, `${host.name}_cert.cer`);
  for (const host of [a, b]) {
    await query(host.sa, `USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master#Key_${host.name}1';
      CREATE CERTIFICATE ${host.name}_cert WITH SUBJECT = '${host.name} certificate for database mirroring', EXPIRY_DATE = '${nextYear}';
      CREATE ENDPOINT Endpoint_Mirroring STATE = STARTED AS TCP (LISTENER_PORT = ${host.endpointPort}, LISTENER_IP = ALL)
        FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE ${host.name}_cert, ENCRYPTION = REQUIRED ALGORITHM AES, ROLE = ALL);
      BACKUP CERTIFICATE ${host.name}_cert TO FILE = '${cer(host)}';`);
  }
  for (const [host, peer] of [[a, b], [b, a]] as const) {
    await query(host.sa, `USE master; CREATE LOGIN ${peer.name}_login WITH PASSWORD = 'Sample#2_Strong_${peer.name}';
      CREATE USER ${peer.name}_user FOR LOGIN ${peer.name}_login;
      CREATE CERTIFICATE ${peer.name}_cert AUTHORIZATION ${peer.name}_user FROM FILE = '${cer(peer)}';
      GRANT CONNECT ON ENDPOINT::Endpoint_Mirroring TO [${peer.name}_login];`);
  }
}

/** Prepare the mirror database (§6.2): full + log backup on the principal, restored WITH NORECOVERY. */
export async function seedMirror(dir: string, principal: Host, mirror: Host, db: string): Promise<void> {
  const full = path.join(dir, `${db}_full.bak`);
  const log = path.join(dir, `${db}_log.trn`);
  await query(principal.sa, `BACKUP DATABASE ${db} TO DISK = '${full}' WITH FORMAT;
    BACKUP LOG ${db} TO DISK = '${log}' WITH FORMAT`);
  await query(mirror.sa, `RESTORE DATABASE ${db} FROM DISK = '${full}' WITH NORECOVERY, REPLACE;
    RESTORE LOG ${db} FROM DISK = '${log}' WITH NORECOVERY`);
}

/** SET PARTNER on the mirror (naming the principal), then on the principal (naming the mirror). */
export async function setPartners(principal: Host, mirror: Host, db: string): Promise<void> {
  await query(mirror.sa, `ALTER DATABASE ${db} SET PARTNER = '${address(principal)}'`);
  await query(principal.sa, `ALTER DATABASE ${db} SET PARTNER = '${address(mirror)}'`);
}

export interface MirroringRow {
  mirroring_state_desc: string | null;
  mirroring_role_desc: string | null;
  mirroring_role_sequence: number | null;
  mirroring_safety_level_desc: string | null;
  mirroring_end_of_log_lsn: string | null;
  mirroring_failover_lsn: string | null;
  mirroring_partner_name: string | null;
  mirroring_partner_instance: string | null;
  mirroring_redo_queue: number | null;
}

export async function mirroringRow(host: Host, db: string): Promise<MirroringRow> {
  const result = await query(host.sa, `SELECT m.* FROM sys.database_mirroring m
    JOIN sys.databases d ON d.database_id = m.database_id WHERE d.name = '${db}'`);
  return result.rows[0]![0] as unknown as MirroringRow;
}

/** Polls sys.database_mirroring until `predicate` holds (the view is what users watch). */
export async function waitForRow(host: Host, db: string, predicate: (row: MirroringRow) => boolean,
  what: string, timeoutMs = 30_000): Promise<MirroringRow> {
  const deadline = Date.now() + timeoutMs;
  let row = await mirroringRow(host, db);
  while (!predicate(row)) {
    if (Date.now() > deadline) throw new Error(`${host.name}: ${what} not reached in ${timeoutMs} ms: ${JSON.stringify(row)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    row = await mirroringRow(host, db);
  }
  return row;
}

export const synchronized = (row: MirroringRow): boolean => row.mirroring_state_desc === "SYNCHRONIZED";

export async function stopHost(host: Host): Promise<number | null> {
  await close(host.sa);
  return host.server.stop();
}
