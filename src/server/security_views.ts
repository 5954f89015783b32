// Security catalog views: projections of master (logins, keys, certificates, endpoints and
// their permissions) and of the current database's users. Column names, codes and _desc texts
// are SQL Server's (spec/mirroring.md §4.3), so tools' queries work unchanged.
import type { CertificateEntry, EndpointEntry } from "../catalog/master.js";
import type { Instance } from "./instance.js";

export interface ViewContext {
  readonly databaseId: number;
  /** The session's login: without sysadmin, logins other than its own and sa are not shown. */
  readonly loginName: string;
  readonly sysadmin: boolean;
}

function visibleLogins(instance: Instance, context: ViewContext) {
  return instance.catalog.logins().filter((login) => context.sysadmin || login.sid === "01"
    || login.name.toLowerCase() === context.loginName.toLowerCase());
}

interface SecurityView {
  readonly columns: string;
  readonly rows: (instance: Instance, context: ViewContext) => unknown[][];
}

const ENDPOINT_BASE = `name NVARCHAR(128), endpoint_id INT, principal_id INT, protocol TINYINT,
  protocol_desc NVARCHAR(60), type TINYINT, type_desc NVARCHAR(60), state TINYINT, state_desc NVARCHAR(60),
  is_admin_endpoint BIT`;
const STATE_CODES = { STARTED: 0, STOPPED: 1, DISABLED: 2 } as const;
const ROLE_CODES = { PARTNER: 1, WITNESS: 2, ALL: 3 } as const;

function date(iso: string): string {
  return iso.replace("T", " ").replace("Z", "");
}

/** What PASSWORD = 0x… HASHED accepts back: SQL Server's bytes, or our scrypt text. */
function passwordHashBytes(stored: string): Buffer {
  return stored.startsWith("mssql2012$") ? Buffer.from(stored.slice("mssql2012$".length), "hex")
    : Buffer.from(stored, "utf8");
}

function sid(hex: string | null): Buffer | null {
  return hex === null ? null : Buffer.from(hex, "hex");
}

function endpointBase(instance: Instance, endpoint: EndpointEntry): unknown[] {
  const owner = instance.catalog.loginBySid(endpoint.ownerSid);
  return [endpoint.name, endpoint.id, owner?.principalId ?? 1, 2, "TCP", 4, "DATABASE_MIRRORING",
    STATE_CODES[endpoint.state], endpoint.state, 0];
}

/** encryption_algorithm code and text (spec §4.3 [impl] mapping). */
function encryptionAlgorithm(endpoint: EndpointEntry): [number, string] {
  if (endpoint.encryption === "DISABLED") return [0, "NONE"];
  const list = endpoint.algorithms.join(",");
  const codes: Record<string, [number, number]> = {
    AES: [2, 4], RC4: [1, 3], "RC4,AES": [5, 7], "AES,RC4": [6, 8],
  };
  const [required, supported] = codes[list] ?? [2, 4];
  const names = endpoint.algorithms.join(", ");
  return endpoint.encryption === "REQUIRED" ? [required, names] : [supported, `NONE, ${names}`];
}

function certificateRow(instance: Instance, cert: CertificateEntry): unknown[] {
  const type = cert.privateKey?.encryptionType ?? "NA";
  const desc = { MK: "ENCRYPTED_BY_MASTER_KEY", PW: "ENCRYPTED_BY_PASSWORD", NA: "NO_PRIVATE_KEY" }[type];
  const owner = cert.ownerUser === null ? 1
    : instance.principals.cached(1).find((user) => user.name.toLowerCase() === cert.ownerUser!.toLowerCase())?.principalId ?? 1;
  return [cert.name, cert.id, owner, type, desc, 0, `CN=${cert.subject}`, Buffer.from(cert.serialHex, "hex"),
    null, null, `CN=${cert.subject}`, date(cert.expiryDate), date(cert.startDate),
    Buffer.from(cert.thumbprint, "hex"), null, null];
}

export const SECURITY_VIEWS: Record<string, SecurityView> = {
  server_principals: {
    columns: `name NVARCHAR(128), principal_id INT, sid VARBINARY(85), type CHAR(1), type_desc NVARCHAR(60),
      is_disabled BIT, create_date DATETIME, modify_date DATETIME, default_database_name NVARCHAR(128),
      default_language_name NVARCHAR(128), credential_id INT, owning_principal_id INT, is_fixed_role BIT`,
    rows: (instance, context) => [
      ...visibleLogins(instance, context).map((login) => [login.name, login.principalId ?? 1, sid(login.sid),
        login.type ?? "S", login.type === "C" ? "CERTIFICATE_MAPPED_LOGIN" : "SQL_LOGIN", login.disabled ? 1 : 0,
        date(login.createDate), date(login.modifyDate ?? login.createDate), login.defaultDatabase, "us_english",
        null, null, 0]),
      ["public", 2, Buffer.from([2]), "R", "SERVER_ROLE", 0, null, null, null, null, null, 1, 0],
      ["sysadmin", 3, Buffer.from([3]), "R", "SERVER_ROLE", 0, null, null, null, null, null, 1, 1],
    ],
  },
  sql_logins: {
    columns: `name NVARCHAR(128), principal_id INT, sid VARBINARY(85), type CHAR(1), type_desc NVARCHAR(60),
      is_disabled BIT, create_date DATETIME, modify_date DATETIME, default_database_name NVARCHAR(128),
      is_policy_checked BIT, is_expiration_checked BIT, password_hash VARBINARY(256)`,
    rows: (instance, context) => visibleLogins(instance, context).filter((login) => (login.type ?? "S") === "S")
      .map((login) => [login.name, login.principalId ?? 1, sid(login.sid), "S", "SQL_LOGIN", login.disabled ? 1 : 0,
        date(login.createDate), date(login.modifyDate ?? login.createDate), login.defaultDatabase,
        (login.checkPolicy ?? true) ? 1 : 0, (login.checkExpiration ?? false) ? 1 : 0,
        // SQL Server shows password hashes to CONTROL SERVER only.
        context.sysadmin ? passwordHashBytes(login.passwordHash) : null]),
  },
  server_role_members: {
    columns: "role_principal_id INT, member_principal_id INT",
    rows: (instance) => instance.catalog.logins().filter((login) => login.sysadmin)
      .map((login) => [3, login.principalId ?? 1]),
  },
  database_principals: {
    columns: `name NVARCHAR(128), principal_id INT, type CHAR(1), type_desc NVARCHAR(60),
      default_schema_name NVARCHAR(128), create_date DATETIME, modify_date DATETIME, owning_principal_id INT,
      sid VARBINARY(85), is_fixed_role BIT, authentication_type INT, authentication_type_desc NVARCHAR(60)`,
    rows: (instance, context) => [
      ["public", 0, "R", "DATABASE_ROLE", null, null, null, 1, null, 0, 0, "NONE"],
      ["dbo", 1, "S", "SQL_USER", "dbo", null, null, null, Buffer.from([1]), 0, 1, "INSTANCE"],
      ["guest", 2, "S", "SQL_USER", "guest", null, null, null, Buffer.from([0]), 0, 0, "NONE"],
      ...instance.principals.cached(context.databaseId).map((user) => [user.name, user.principalId, user.type,
        user.type === "C" ? "CERTIFICATE_MAPPED_USER" : "SQL_USER", user.defaultSchema, date(user.createDate),
        date(user.createDate), null, sid(user.sid), 0, user.authenticationType === "INSTANCE" ? 1 : 0,
        user.authenticationType]),
    ],
  },
  certificates: {
    columns: `name NVARCHAR(128), certificate_id INT, principal_id INT, pvt_key_encryption_type CHAR(2),
      pvt_key_encryption_type_desc NVARCHAR(60), is_active_for_begin_dialog BIT, issuer_name NVARCHAR(442),
      cert_serial_number VARBINARY(64), sid VARBINARY(85), string_sid NVARCHAR(128), subject NVARCHAR(4000),
      expiry_date DATETIME, start_date DATETIME, thumbprint VARBINARY(32), attested_by NVARCHAR(260),
      pvt_key_last_backup_date DATETIME`,
    rows: (instance, context) => context.databaseId !== 1 ? []
      : instance.catalog.certificates().map((cert) => certificateRow(instance, cert)),
  },
  symmetric_keys: {
    columns: `name NVARCHAR(128), principal_id INT, symmetric_key_id INT, key_length INT, key_algorithm CHAR(2),
      algorithm_desc NVARCHAR(60), create_date DATETIME, modify_date DATETIME, key_guid UNIQUEIDENTIFIER`,
    rows: (instance, context) => {
      const key = instance.catalog.masterKey();
      return context.databaseId !== 1 || key === null ? []
        : [["##MS_DatabaseMasterKey##", 1, 101, 256, "A3", "AES_256", date(key.createDate), date(key.createDate), null]];
    },
  },
  endpoints: {
    columns: ENDPOINT_BASE,
    rows: (instance) => instance.catalog.endpoints().map((endpoint) => endpointBase(instance, endpoint)),
  },
  tcp_endpoints: {
    columns: `${ENDPOINT_BASE}, port INT, is_dynamic_port BIT, ip_address NVARCHAR(45)`,
    rows: (instance) => instance.catalog.endpoints().map((endpoint) => [...endpointBase(instance, endpoint),
      endpoint.port, 0, endpoint.listenerIp]),
  },
  database_mirroring_endpoints: {
    columns: `${ENDPOINT_BASE}, role TINYINT, role_desc NVARCHAR(60), is_encryption_enabled BIT,
      connection_auth TINYINT, connection_auth_desc NVARCHAR(60), certificate_id INT,
      encryption_algorithm TINYINT, encryption_algorithm_desc NVARCHAR(60)`,
    rows: (instance) => instance.catalog.endpoints().map((endpoint) => {
      const [algorithm, algorithmDesc] = encryptionAlgorithm(endpoint);
      return [...endpointBase(instance, endpoint), ROLE_CODES[endpoint.role], endpoint.role,
        endpoint.encryption === "DISABLED" ? 0 : 1, 4, "CERTIFICATE",
        instance.catalog.certificate(endpoint.certificate)?.id ?? 0, algorithm, algorithmDesc];
    }),
  },
  server_permissions: {
    columns: `class TINYINT, class_desc NVARCHAR(60), major_id INT, minor_id INT, grantee_principal_id INT,
      grantor_principal_id INT, type CHAR(4), permission_name NVARCHAR(128), state CHAR(1), state_desc NVARCHAR(60)`,
    rows: (instance) => instance.catalog.endpointPermissions().map((grant) => [105, "ENDPOINT", grant.endpointId, 0,
      instance.catalog.loginBySid(grant.granteeSid)?.principalId ?? 0,
      instance.catalog.loginBySid(grant.grantorSid)?.principalId ?? 1,
      grant.permission === "CONNECT" ? "CO" : grant.permission.slice(0, 4), grant.permission, grant.state,
      grant.state === "G" ? "GRANT" : "DENY"]),
  },
};
