// CREATE / ALTER / DROP ENDPOINT … FOR DATABASE_MIRRORING and GRANT / REVOKE / DENY … ON
// ENDPOINT::name. The definition lives in master; the endpoint service (endpoint_service.ts)
// listens while it is STARTED. One mirroring endpoint per instance (7862).
import type { EndpointEntry } from "../catalog/master.js";
import { SqlError } from "../errors/sql_error.js";
import type { SecurityCommand } from "../tsql/security_statements.js";
import { requireSysadmin } from "./security_commands.js";
import type { TsqlSession } from "./tsql_session.js";

type Command<K extends SecurityCommand["kind"]> = Extract<SecurityCommand, { kind: K }>;
/** SQL Server numbers user endpoints from 65536 (lower ids are system endpoints). */
const FIRST_ENDPOINT_ID = 65536;

export async function createEndpoint(session: TsqlSession, command: Command<"createEndpoint">): Promise<void> {
  requireSysadmin(session);
  const catalog = session.instance.catalog;
  if (catalog.endpoint(command.name) !== undefined) throw new SqlError("ENDPOINT_NAME_EXISTS", [command.name]);
  if (catalog.endpoints().length > 0) throw new SqlError("ENDPOINT_EXISTS");
  const owner = command.owner === null ? session.login : catalog.login(command.owner);
  if (owner === undefined) throw new SqlError("GRANT_TARGET_MISSING", [command.owner!]);
  const mirroring = command.mirroring;
  const certificate = requireEndpointCertificate(session, mirroring.certificate);
  const entry: EndpointEntry = {
    id: Math.max(FIRST_ENDPOINT_ID - 1, ...catalog.endpoints().map((other) => other.id)) + 1,
    name: command.name, ownerSid: owner.sid, state: command.state ?? "STOPPED", port: command.port,
    listenerIp: command.listenerIp, role: mirroring.role ?? "ALL", certificate,
    encryption: mirroring.encryption ?? "REQUIRED", algorithms: mirroring.algorithms ?? ["AES"],
    createDate: new Date().toISOString(),
  };
  await session.instance.mirroringEndpoint.apply(entry);
  catalog.putEndpoint(entry);
}

/** AUTHENTICATION = CERTIFICATE name: in master, with a private key (SQL Server: 15151). */
function requireEndpointCertificate(session: TsqlSession, name: string | null): string {
  if (name === null) throw new SqlError("ENDPOINT_WINDOWS_AUTH");
  const cert = session.instance.catalog.certificate(name);
  if (cert === undefined) throw new SqlError("CERTIFICATE_MISSING", [name]);
  if (cert.privateKey === null || cert.privateKey.encryptionType !== "MK") {
    throw new SqlError("TRANSPORT_CERTIFICATE_EXPIRED", [name]);
  }
  return cert.name;
}

export async function alterEndpoint(session: TsqlSession, command: Command<"alterEndpoint">): Promise<void> {
  requireSysadmin(session);
  const catalog = session.instance.catalog;
  const current = catalog.endpoint(command.name);
  if (current === undefined) throw new SqlError("ENDPOINT_MISSING", ["alter", command.name]);
  const mirroring = command.mirroring;
  const next: EndpointEntry = {
    ...current,
    state: command.state ?? current.state,
    port: command.port ?? current.port,
    listenerIp: command.listenerIp === undefined ? current.listenerIp : command.listenerIp,
    role: mirroring?.role ?? current.role,
    certificate: mirroring?.certificate === null || mirroring === null ? current.certificate
      : requireEndpointCertificate(session, mirroring.certificate),
    encryption: mirroring?.encryption ?? current.encryption,
    algorithms: mirroring?.algorithms ?? (mirroring?.encryption === undefined || mirroring.encryption === null
      ? current.algorithms : ["AES"]),
  };
  if (JSON.stringify(next) === JSON.stringify(current) && command.state === null && command.port === null
    && mirroring === null && command.listenerIp === undefined) {
    throw new SqlError("ENDPOINT_NOTHING_CHANGED");
  }
  await session.instance.mirroringEndpoint.apply(next);
  catalog.putEndpoint(next);
}

export async function dropEndpoint(session: TsqlSession, command: Command<"dropEndpoint">): Promise<void> {
  requireSysadmin(session);
  const catalog = session.instance.catalog;
  const current = catalog.endpoint(command.name);
  if (current === undefined) throw new SqlError("ENDPOINT_MISSING", ["drop", command.name]);
  await session.instance.mirroringEndpoint.apply(null);
  catalog.removeEndpoint(current.id);
}

export function endpointPermission(session: TsqlSession, command: Command<"endpointPermission">): void {
  requireSysadmin(session);
  const catalog = session.instance.catalog;
  const endpoint = catalog.endpoint(command.endpoint);
  if (endpoint === undefined) throw new SqlError("ENDPOINT_MISSING", ["find", command.endpoint]);
  const grantees = command.principals.map((name) => {
    const login = catalog.login(name);
    if (login === undefined) throw new SqlError("GRANT_TARGET_MISSING", [name]);
    return login;
  });
  for (const login of grantees) {
    for (const permission of command.permissions) {
      const grant = command.action === "REVOKE" ? null
        : { state: command.action === "GRANT" ? "G" as const : "D" as const, grantorSid: session.login.sid };
      catalog.setEndpointPermission(endpoint.id, login.sid, permission, grant);
    }
  }
}
