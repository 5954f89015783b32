// The security statement parser (src/tsql/security_statements.ts): every statement of the
// mirroring setups (spec/mirroring.md §6.3, §6.4), each form and option of §3.1–3.8, and each
// refusal with its error number: 102/156 syntax, 40517 unsupported, 3031 conflicting options,
// 7873 port range, 7860 transport change, 28054 Windows authentication, 28079 RC4.

import { assertThrowsSql, pick } from "./support/sql_errors.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBatch } from "../src/tsql/parser.js";
import { significantTokens, tokenize } from "../src/tsql/lexer.js";
import { parseSecurityStatement, type SecurityCommand } from "../src/tsql/security_statements.js";
import type { AdminStatement } from "../src/tsql/statements.js";

type Command<K extends SecurityCommand["kind"]> = Extract<SecurityCommand, { kind: K }>;

/** The one statement of `sql` (the batch parser delimits it), parsed as a security statement. */
function parse(sql: string): SecurityCommand {
  const statements = parseBatch(sql);
  assert.equal(statements.length, 1, `one statement in ${sql}`);
  assert.equal(statements[0]!.kind, "admin");
  return parseSecurityStatement(statements[0] as AdminStatement);
}

function parseAs<K extends SecurityCommand["kind"]>(kind: K, sql: string): Command<K> {
  const command = parse(sql);
  assert.equal(command.kind, kind, sql);
  return command as Command<K>;
}

/** An AdminStatement built directly, for forms parser.ts does not delimit as one statement. */
function adminStatement(sql: string, verb: string): AdminStatement {
  return { kind: "admin", verb, tokens: significantTokens(tokenize(sql)).tokens, line: 1, text: sql };
}

/** Asserts that parsing `sql` throws SqlError `number` (and `message`, `line` if given). */
function assertError(sql: string, number: number, message?: string, line?: number): void {
  assertThrowsSql(() => parse(sql), sql, number, message, line);
}

const unsupportedText = (construct: string): string =>
  `Keyword or statement option '${construct}' is not supported in this version of SQL Server.`;
const conflictText = (second: string, first: string): string =>
  `Option '${second}' conflicts with option(s) '${first}'. Remove the conflicting option and reissue the statement.`;

const noMirroring = { role: null, certificate: null, encryption: null, algorithms: null };

// ---------------------------------------------------------------------------------------
// The mirroring setups of spec §6.3 and §6.4, statement by statement

test("§6.4 stage 1: master key, certificate, endpoint, certificate backup", () => {
  assert.deepEqual(parse("CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<Strong_Password_#1>';"),
    { kind: "createMasterKey", password: "<Strong_Password_#1>", line: 1 });
  assert.deepEqual(parse("CREATE CERTIFICATE HOST_A_cert WITH SUBJECT = 'HOST_A certificate for database mirroring', EXPIRY_DATE = '11/30/2013';"), {
    kind: "createCertificate", name: "HOST_A_cert", owner: null, subject: "HOST_A certificate for database mirroring",
    startDate: null, expiryDate: "11/30/2013", encryptionPassword: null, fromFile: null, privateKey: null, line: 1,
  });
  assert.deepEqual(parse(`CREATE ENDPOINT Endpoint_Mirroring STATE = STARTED AS TCP ( LISTENER_PORT=7024 , LISTENER_IP = ALL )
    FOR DATABASE_MIRRORING ( AUTHENTICATION = CERTIFICATE HOST_A_cert , ENCRYPTION = REQUIRED ALGORITHM AES , ROLE = ALL );`), {
    kind: "createEndpoint", name: "Endpoint_Mirroring", owner: null, state: "STARTED", port: 7024, listenerIp: null,
    mirroring: { role: "ALL", certificate: "HOST_A_cert", encryption: "REQUIRED", algorithms: ["AES"] }, line: 1,
  });
  assert.deepEqual(parse(String.raw`BACKUP CERTIFICATE HOST_A_cert TO FILE = 'C:\HOST_A_cert.cer';`),
    { kind: "backupCertificate", name: "HOST_A_cert", file: String.raw`C:\HOST_A_cert.cer`, privateKey: null, line: 1 });
});

test("§6.4 stage 2: login, user, certificate from file, GRANT CONNECT", () => {
  assert.deepEqual(parse("CREATE LOGIN HOST_B_login WITH PASSWORD = '1Sample_Strong_Password!@#';"), {
    kind: "createLogin", name: "HOST_B_login", password: "1Sample_Strong_Password!@#", hashedPassword: null,
    mustChange: false, sid: null, defaultDatabase: null, checkPolicy: null, checkExpiration: null,
    fromCertificate: null, line: 1,
  });
  assert.deepEqual(parse("CREATE USER HOST_B_user FOR LOGIN HOST_B_login;"), {
    kind: "createUser", name: "HOST_B_user", login: "HOST_B_login", withoutLogin: false, certificate: null,
    defaultSchema: null, line: 1,
  });
  assert.deepEqual(parse(String.raw`CREATE CERTIFICATE HOST_B_cert AUTHORIZATION HOST_B_user FROM FILE = 'C:\HOST_B_cert.cer'`), {
    kind: "createCertificate", name: "HOST_B_cert", owner: "HOST_B_user", subject: null, startDate: null,
    expiryDate: null, encryptionPassword: null, fromFile: String.raw`C:\HOST_B_cert.cer`, privateKey: null, line: 1,
  });
  assert.deepEqual(parse("GRANT CONNECT ON ENDPOINT::Endpoint_Mirroring TO [HOST_B_login];"), {
    kind: "endpointPermission", action: "GRANT", permissions: ["CONNECT"], endpoint: "Endpoint_Mirroring",
    principals: ["HOST_B_login"], line: 1,
  });
  assert.equal(parseAs("createLogin", "CREATE LOGIN HOST_A_login WITH PASSWORD = '=Sample#2_Strong_Password2';").password,
    "=Sample#2_Strong_Password2");
});

test("§6.4 stage 2 as one batch without ';': each statement delimited and parsed", () => {
  const batch = String.raw`CREATE LOGIN HOST_A_login WITH PASSWORD = '=Sample#2_Strong_Password2'
CREATE USER HOST_A_user FOR LOGIN HOST_A_login
CREATE CERTIFICATE HOST_A_cert AUTHORIZATION HOST_A_user FROM FILE = 'C:\HOST_A_cert.cer'
GRANT CONNECT ON ENDPOINT::Endpoint_Mirroring TO [HOST_A_login]`;
  const commands = parseBatch(batch).map((statement) => parseSecurityStatement(statement as AdminStatement));
  assert.deepEqual(commands.map((command) => [command.kind, command.line]),
    [["createLogin", 1], ["createUser", 2], ["createCertificate", 3], ["endpointPermission", 4]]);
});

test("§6.3: endpoints by role, GRANT to a Windows login; CREATE LOGIN FROM WINDOWS is 40517", () => {
  for (const role of ["PARTNER", "ALL", "WITNESS"] as const) {
    assert.deepEqual(parse(`CREATE ENDPOINT Endpoint_Mirroring STATE=STARTED AS TCP (LISTENER_PORT=7022) FOR DATABASE_MIRRORING (ROLE=${role})`), {
      kind: "createEndpoint", name: "Endpoint_Mirroring", owner: null, state: "STARTED", port: 7022, listenerIp: null,
      mirroring: { ...noMirroring, role }, line: 1,
    });
  }
  assert.deepEqual(parseAs("endpointPermission", String.raw`GRANT CONNECT ON ENDPOINT::Endpoint_Mirroring TO [Somedomain\witnessuser];`).principals,
    [String.raw`Somedomain\witnessuser`]);
  assertError(String.raw`CREATE LOGIN [Somedomain\witnessuser] FROM WINDOWS;`, 40517, unsupportedText("CREATE LOGIN FROM WINDOWS"), 1);
});

test("§3.2: the fix for an endpoint that is not started", () => {
  assert.deepEqual(parse("ALTER ENDPOINT Endpoint_Mirroring STATE = STARTED AS TCP (LISTENER_PORT = 7022) FOR database_mirroring (ROLE = ALL);"), {
    kind: "alterEndpoint", name: "Endpoint_Mirroring", state: "STARTED", port: 7022, listenerIp: undefined,
    mirroring: { ...noMirroring, role: "ALL" }, line: 1,
  });
});

// ---------------------------------------------------------------------------------------
// Logins and users

test("CREATE LOGIN: every option, hashed password, odd-length SID, DEFAULT_LANGUAGE ignored", () => {
  const command = parse(`create login [Mirror Login] with password = 0x0200ABCD hashed,
    SID = 0x0123456789ABCDEF0123456789ABCDEF, default_database = [shop], DEFAULT_LANGUAGE = [us_english],
    CHECK_POLICY = OFF, CHECK_EXPIRATION = ON`);
  assert.deepEqual(command, {
    kind: "createLogin", name: "Mirror Login", password: null, hashedPassword: Buffer.from("0200abcd", "hex"),
    mustChange: false, sid: Buffer.from("0123456789abcdef0123456789abcdef", "hex"), defaultDatabase: "shop",
    checkPolicy: false, checkExpiration: true, fromCertificate: null, line: 1,
  });
  assert.deepEqual(parseAs("createLogin", "CREATE LOGIN a WITH PASSWORD = 'p', SID = 0x123").sid, Buffer.from([0x01, 0x23]));
  assert.equal(parseAs("createLogin", "CREATE LOGIN a WITH PASSWORD = N'pä', DEFAULT_LANGUAGE = 'English'").password, "pä");
});

test("CREATE LOGIN: MUST_CHANGE with both checks ON; FROM CERTIFICATE", () => {
  const command = parseAs("createLogin", "CREATE LOGIN a WITH PASSWORD = 'p' MUST_CHANGE, CHECK_EXPIRATION = ON, CHECK_POLICY = ON");
  assert.deepEqual(pick(command, { mustChange: null, checkPolicy: null, checkExpiration: null }),
    { mustChange: true, checkPolicy: true, checkExpiration: true });
  assert.deepEqual(pick(parse("CREATE LOGIN cert_login FROM CERTIFICATE [HOST_B_cert]"), { password: "", fromCertificate: null }),
    { password: null, fromCertificate: "HOST_B_cert" });
});

test("ALTER LOGIN: ENABLE, DISABLE, new password with OLD_PASSWORD, every WITH option", () => {
  const base = { kind: "alterLogin", name: "a", password: null, oldPassword: null, enable: null, newName: null,
    defaultDatabase: null, checkPolicy: null, line: 1 };
  assert.deepEqual(parse("ALTER LOGIN a ENABLE"), { ...base, enable: true });
  assert.deepEqual(parse("alter login [a] disable"), { ...base, enable: false });
  assert.deepEqual(parse("ALTER LOGIN a WITH PASSWORD = 'new' OLD_PASSWORD = N'old'"), { ...base, password: "new", oldPassword: "old" });
  assert.deepEqual(parse("ALTER LOGIN a WITH NAME = b, DEFAULT_DATABASE = shop, CHECK_POLICY = ON, DEFAULT_LANGUAGE = us_english, PASSWORD = 'x'"),
    { ...base, password: "x", newName: "b", defaultDatabase: "shop", checkPolicy: true });
});

test("DROP LOGIN, DROP USER, DROP USER IF EXISTS (built directly: parser.ts splits it at IF)", () => {
  assert.deepEqual(parse("DROP LOGIN [HOST_B_login]"), { kind: "dropLogin", name: "HOST_B_login", line: 1 });
  assert.deepEqual(parse("DROP USER HOST_B_user"), { kind: "dropUser", name: "HOST_B_user", ifExists: false, line: 1 });
  assert.deepEqual(parseSecurityStatement(adminStatement("DROP USER IF EXISTS u", "DROP USER")),
    { kind: "dropUser", name: "u", ifExists: true, line: 1 });
});

test("CREATE USER: same-name login, FROM LOGIN, WITHOUT LOGIN, certificate, DEFAULT_SCHEMA", () => {
  const base = { kind: "createUser", name: "u", login: null, withoutLogin: false, certificate: null, defaultSchema: null, line: 1 };
  assert.deepEqual(parse("CREATE USER u"), base);
  assert.deepEqual(parse("CREATE USER u WITH DEFAULT_SCHEMA = dbo"), { ...base, defaultSchema: "dbo" });
  assert.deepEqual(parse("CREATE USER u FROM LOGIN [l] WITH DEFAULT_SCHEMA = [sales]"), { ...base, login: "l", defaultSchema: "sales" });
  assert.deepEqual(parse("CREATE USER u WITHOUT LOGIN"), { ...base, withoutLogin: true });
  assert.deepEqual(parse("CREATE USER u WITHOUT LOGIN WITH DEFAULT_SCHEMA = dbo"), { ...base, withoutLogin: true, defaultSchema: "dbo" });
  assert.deepEqual(parse("CREATE USER u FOR CERTIFICATE c"), { ...base, certificate: "c" });
  assert.deepEqual(parse("CREATE USER u FROM CERTIFICATE [c]"), { ...base, certificate: "c" });
});

test("ALTER USER: LOGIN, NAME and DEFAULT_SCHEMA in any order", () => {
  assert.deepEqual(parse("ALTER USER u WITH LOGIN = l"),
    { kind: "alterUser", name: "u", login: "l", newName: null, defaultSchema: null, line: 1 });
  assert.deepEqual(parse("ALTER USER [u] WITH DEFAULT_SCHEMA = s, NAME = [n], LOGIN = [l]"),
    { kind: "alterUser", name: "u", login: "l", newName: "n", defaultSchema: "s", line: 1 });
});

// ---------------------------------------------------------------------------------------
// Master key and certificates

test("CREATE MASTER KEY with and without a password; DROP MASTER KEY", () => {
  assert.deepEqual(parse("CREATE MASTER KEY"), { kind: "createMasterKey", password: null, line: 1 });
  assert.deepEqual(parse("create master key encryption by password = N'pw'"), { kind: "createMasterKey", password: "pw", line: 1 });
  assert.deepEqual(parse("DROP MASTER KEY"), { kind: "dropMasterKey", line: 1 });
});

test("CREATE CERTIFICATE, generate form: every option, dates as written", () => {
  assert.deepEqual(parse(`CREATE CERTIFICATE [c] AUTHORIZATION u ENCRYPTION BY PASSWORD = 'p'
    WITH SUBJECT = N's', EXPIRY_DATE = '2030-12-31', START_DATE = '20240101'`), {
    kind: "createCertificate", name: "c", owner: "u", subject: "s", startDate: "20240101", expiryDate: "2030-12-31",
    encryptionPassword: "p", fromFile: null, privateKey: null, line: 1,
  });
});

test("CREATE CERTIFICATE, file form: [EXECUTABLE] FILE, PRIVATE KEY with either password", () => {
  const command = parseAs("createCertificate", String.raw`CREATE CERTIFICATE c FROM FILE = 'c.cer'
    WITH PRIVATE KEY (FILE = 'c.pvk', DECRYPTION BY PASSWORD = 'd', ENCRYPTION BY PASSWORD = 'e')`);
  assert.deepEqual(pick(command, { fromFile: "", privateKey: null }),
    { fromFile: "c.cer", privateKey: { file: "c.pvk", decryptionPassword: "d", encryptionPassword: "e" } });
  assert.deepEqual(parseAs("createCertificate", "CREATE CERTIFICATE c FROM FILE = 'c.cer' WITH PRIVATE KEY (FILE = N'k')").privateKey,
    { file: "k", decryptionPassword: null, encryptionPassword: null });
  assert.deepEqual(parseAs("createCertificate", "CREATE CERTIFICATE c FROM FILE = 'c.cer' WITH PRIVATE KEY (ENCRYPTION BY PASSWORD = 'e', FILE = 'k')").privateKey,
    { file: "k", decryptionPassword: null, encryptionPassword: "e" });
  assert.equal(parseAs("createCertificate", "CREATE CERTIFICATE c FROM EXECUTABLE FILE = 'c.dll'").fromFile, "c.dll");
});

test("BACKUP CERTIFICATE WITH PRIVATE KEY: ENCRYPTION required, DECRYPTION optional, any order", () => {
  assert.deepEqual(parseAs("backupCertificate", "BACKUP CERTIFICATE c TO FILE = 'c.cer' WITH PRIVATE KEY (FILE = 'c.pvk', ENCRYPTION BY PASSWORD = 'e')").privateKey,
    { file: "c.pvk", encryptionPassword: "e", decryptionPassword: null });
  assert.deepEqual(parseAs("backupCertificate", "BACKUP CERTIFICATE c TO FILE = N'c.cer' WITH PRIVATE KEY (FILE = 'k', DECRYPTION BY PASSWORD = 'd', ENCRYPTION BY PASSWORD = 'e')").privateKey,
    { file: "k", encryptionPassword: "e", decryptionPassword: "d" });
  assertError("BACKUP CERTIFICATE c TO FILE = 'c.cer' WITH PRIVATE KEY (FILE = 'k', DECRYPTION BY PASSWORD = 'd')", 102, "Incorrect syntax near ')'.");
});

test("DROP CERTIFICATE", () => {
  assert.deepEqual(parse("DROP CERTIFICATE [HOST_B_cert]"), { kind: "dropCertificate", name: "HOST_B_cert", line: 1 });
});

// ---------------------------------------------------------------------------------------
// Endpoints

test("CREATE ENDPOINT: AUTHORIZATION, IPv4 and IPv6 listeners, options in any order without commas", () => {
  assert.deepEqual(parse(`CREATE ENDPOINT [mirror] AUTHORIZATION [sa] STATE = DISABLED
    AS TCP (LISTENER_IP = (10.193.9.134) LISTENER_PORT = 1024)
    FOR DATABASE_MIRRORING (ROLE = WITNESS ENCRYPTION = SUPPORTED AUTHENTICATION = CERTIFICATE c)`), {
    kind: "createEndpoint", name: "mirror", owner: "sa", state: "DISABLED", port: 1024, listenerIp: "10.193.9.134",
    mirroring: { role: "WITNESS", certificate: "c", encryption: "SUPPORTED", algorithms: null }, line: 1,
  });
  const v6 = parseAs("createEndpoint", "CREATE ENDPOINT e STATE = STOPPED AS TCP (LISTENER_PORT = 32767, LISTENER_IP = ('::1')) FOR DATABASE_MIRRORING (ROLE = PARTNER)");
  assert.deepEqual(pick(v6, { state: null, port: 0, listenerIp: "" }), { state: "STOPPED", port: 32767, listenerIp: "::1" });
  assert.equal(parseAs("createEndpoint", "CREATE ENDPOINT e AS TCP (LISTENER_PORT = 5022, LISTENER_IP = (127.0.0.1)) FOR DATABASE_MIRRORING (ROLE = ALL)").listenerIp, "127.0.0.1");
});

test("CREATE ENDPOINT: ENCRYPTION DISABLED, ALGORITHM lists in the order written", () => {
  const mirroring = (options: string): unknown =>
    parseAs("createEndpoint", `CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (${options})`).mirroring;
  assert.deepEqual(mirroring("ENCRYPTION = DISABLED, ROLE = ALL"), { ...noMirroring, role: "ALL", encryption: "DISABLED" });
  assert.deepEqual(mirroring("ENCRYPTION = REQUIRED ALGORITHM AES RC4, ROLE = ALL"),
    { ...noMirroring, role: "ALL", encryption: "REQUIRED", algorithms: ["AES", "RC4"] });
  assert.deepEqual(mirroring("ROLE = ALL, ENCRYPTION = SUPPORTED ALGORITHM RC4 AES"),
    { ...noMirroring, role: "ALL", encryption: "SUPPORTED", algorithms: ["RC4", "AES"] });
});

test("ALTER ENDPOINT: each clause alone; LISTENER_IP ALL is null, absent is undefined", () => {
  const base = { kind: "alterEndpoint", name: "e", state: null, port: null, listenerIp: undefined, mirroring: null, line: 1 };
  assert.deepEqual(parse("ALTER ENDPOINT e STATE = STOPPED"), { ...base, state: "STOPPED" });
  assert.deepEqual(parse("ALTER ENDPOINT e AS TCP (LISTENER_IP = ALL)"), { ...base, listenerIp: null });
  assert.deepEqual(parse("ALTER ENDPOINT e AS TCP (LISTENER_PORT = 7023, LISTENER_IP = (192.168.1.5))"),
    { ...base, port: 7023, listenerIp: "192.168.1.5" });
  assert.deepEqual(parse("ALTER ENDPOINT e FOR DATABASE_MIRRORING (ENCRYPTION = SUPPORTED)"),
    { ...base, mirroring: { ...noMirroring, encryption: "SUPPORTED" } });
  assert.deepEqual(parse("ALTER ENDPOINT e FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE c2)"),
    { ...base, mirroring: { ...noMirroring, certificate: "c2" } });
});

test("DROP ENDPOINT", () => {
  assert.deepEqual(parse("DROP ENDPOINT [Endpoint_Mirroring]"), { kind: "dropEndpoint", name: "Endpoint_Mirroring", line: 1 });
});

// ---------------------------------------------------------------------------------------
// GRANT / REVOKE / DENY on an endpoint

test("GRANT: every permission, several principals, WITH GRANT OPTION and AS accepted, repeats once", () => {
  assert.deepEqual(parse(`grant connect, alter, control, take ownership, view definition, CONNECT
    on endpoint::[Endpoint_Mirroring] to [a], b, public, A with grant option as [sa]`), {
    kind: "endpointPermission", action: "GRANT",
    permissions: ["CONNECT", "ALTER", "CONTROL", "TAKE OWNERSHIP", "VIEW DEFINITION"],
    endpoint: "Endpoint_Mirroring", principals: ["a", "b", "public"], line: 1,
  });
});

test("REVOKE … FROM or TO, DENY … TO, CASCADE and AS accepted", () => {
  const fields = { action: "", permissions: [], endpoint: "", principals: [] };
  assert.deepEqual(pick(parse("REVOKE CONNECT ON ENDPOINT::e FROM [l] CASCADE AS sa"), fields),
    { action: "REVOKE", permissions: ["CONNECT"], endpoint: "e", principals: ["l"] });
  assert.deepEqual(pick(parse("REVOKE CONTROL ON ENDPOINT::e TO l"), fields),
    { action: "REVOKE", permissions: ["CONTROL"], endpoint: "e", principals: ["l"] });
  assert.deepEqual(pick(parse("DENY CONNECT ON ENDPOINT::e TO l, m CASCADE"), fields),
    { action: "DENY", permissions: ["CONNECT"], endpoint: "e", principals: ["l", "m"] });
});

// ---------------------------------------------------------------------------------------
// Refusals

const syntaxErrors: ReadonlyArray<[sql: string, number: number, message?: string]> = [
  ["CREATE LOGIN", 102, "Incorrect syntax near 'LOGIN'."],
  ["CREATE LOGIN a", 102, "Incorrect syntax near 'a'."],
  ["CREATE LOGIN a WITH SID = 0x01, PASSWORD = 'p'", 102, "Incorrect syntax near 'SID'."],
  ["CREATE LOGIN a WITH PASSWORD = 5", 102, "Incorrect syntax near '5'."],
  ["CREATE LOGIN a WITH PASSWORD = 0x0102", 102, "Incorrect syntax near '0x0102'."],
  ["CREATE LOGIN a WITH PASSWORD = 'p' HASHED", 102, "Incorrect syntax near 'HASHED'."],
  ["CREATE LOGIN a WITH PASSWORD = 'p', CHECK_POLICY = YES", 102, "Incorrect syntax near 'YES'."],
  ["CREATE LOGIN a WITH PASSWORD = 'p', SID = 'abc'", 102, "Incorrect syntax near ''abc''."],
  ["CREATE LOGIN a WITH PASSWORD = 'p', FOO = 1", 102, "Incorrect syntax near 'FOO'."],
  ["CREATE LOGIN a WITH PASSWORD = 'p',", 102, "Incorrect syntax near ','."],
  ["CREATE LOGIN a FROM CERTIFICATE", 102, "Incorrect syntax near 'CERTIFICATE'."],
  ["CREATE LOGIN a FROM SOMEWHERE", 102, "Incorrect syntax near 'SOMEWHERE'."],
  ["ALTER LOGIN a", 102, "Incorrect syntax near 'a'."],
  ["ALTER LOGIN a WITH OLD_PASSWORD = 'x'", 102, "Incorrect syntax near 'OLD_PASSWORD'."],
  ["ALTER LOGIN a ENABLE WITH NAME = b", 156, "Incorrect syntax near the keyword 'WITH'."],
  ["ALTER LOGIN a WITH PASSWORD = 'x', OLD_PASSWORD = 'y'", 102, "Incorrect syntax near 'OLD_PASSWORD'."],
  ["CREATE USER u FOR SOMETHING s", 102, "Incorrect syntax near 'SOMETHING'."],
  ["CREATE USER u FOR CERTIFICATE c WITH DEFAULT_SCHEMA = dbo", 156, "Incorrect syntax near the keyword 'WITH'."],
  ["CREATE USER u WITH DEFAULT_SCHEMA", 102, "Incorrect syntax near 'DEFAULT_SCHEMA'."],
  ["ALTER USER u", 102, "Incorrect syntax near 'u'."],
  ["ALTER USER u WITH FOO = 1", 102, "Incorrect syntax near 'FOO'."],
  ["CREATE MASTER KEY ENCRYPTION PASSWORD = 'p'", 102, "Incorrect syntax near 'PASSWORD'."],
  ["CREATE MASTER KEY ENCRYPTION BY PASSWORD 'p'", 102, "Incorrect syntax near ''p''."],
  ["DROP MASTER KEY FORCE", 102, "Incorrect syntax near 'FORCE'."],
  ["CREATE CERTIFICATE c", 102, "Incorrect syntax near 'c'."],
  ["CREATE CERTIFICATE c WITH EXPIRY_DATE = '2030-01-01', SUBJECT = 's'", 102, "Incorrect syntax near 'EXPIRY_DATE'."],
  ["CREATE CERTIFICATE c WITH SUBJECT = 's', COLOR = 'red'", 102, "Incorrect syntax near 'COLOR'."],
  ["CREATE CERTIFICATE c ENCRYPTION BY PASSWORD = 'p' FROM FILE = 'c.cer'", 156, "Incorrect syntax near the keyword 'FROM'."],
  ["CREATE CERTIFICATE c FROM FILE = 'c.cer' WITH PRIVATE KEY (DECRYPTION BY PASSWORD = 'd')", 102, "Incorrect syntax near ')'."],
  ["CREATE CERTIFICATE c FROM FILE = 'c.cer' WITH PRIVATE KEY (FILE = 'k' DECRYPTION BY PASSWORD = 'd')", 102, "Incorrect syntax near 'DECRYPTION'."],
  ["CREATE CERTIFICATE c FROM FILE 'c.cer'", 102, "Incorrect syntax near ''c.cer''."],
  ["BACKUP CERTIFICATE c TO FILE = 'c.cer' WITH PRIVATE KEY (FILE = 'k')", 102, "Incorrect syntax near ')'."],
  ["BACKUP CERTIFICATE c TO DISK = 'c.cer'", 156, "Incorrect syntax near the keyword 'DISK'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near ')'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED)", 102, "Incorrect syntax near ')'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING ()", 102, "Incorrect syntax near ')'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ROLE = ALL,)", 102, "Incorrect syntax near ')'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ENCRYPTION = DISABLED ALGORITHM AES, ROLE = ALL)", 102, "Incorrect syntax near 'ALGORITHM'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM AES AES, ROLE = ALL)", 102, "Incorrect syntax near 'AES'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ALGORITHM AES, ROLE = ALL)", 102, "Incorrect syntax near 'ALGORITHM'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ROLE = MIRROR)", 102, "Incorrect syntax near 'MIRROR'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE, ROLE = ALL)", 102, "Incorrect syntax near ','."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = '7022') FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near ''7022''."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022.5) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near '7022.5'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022, LISTENER_IP = (300.1.1.1)) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near '300.1'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022, LISTENER_IP = (127.0 .0.1)) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near '127.0'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022, LISTENER_IP = ('not an ip')) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near ''not an ip''."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022, LISTENER_IP = 127.0.0.1) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near '127.0'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR FOO (ROLE = ALL)", 102, "Incorrect syntax near 'FOO'."],
  ["CREATE ENDPOINT e AS UDP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near 'UDP'."],
  ["CREATE ENDPOINT e STATE = RUNNING AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ROLE = ALL)", 102, "Incorrect syntax near 'RUNNING'."],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022)", 102, "Incorrect syntax near ')'."],
  ["ALTER ENDPOINT e", 102, "Incorrect syntax near 'e'."],
  ["ALTER ENDPOINT e AS TCP ()", 102, "Incorrect syntax near ')'."],
  ["GRANT CONNECT", 102, "Incorrect syntax near 'CONNECT'."],
  ["GRANT SELECT ON ENDPOINT::e TO l", 156, "Incorrect syntax near the keyword 'SELECT'."],
  ["GRANT TAKE ON ENDPOINT::e TO l", 156, "Incorrect syntax near the keyword 'ON'."],
  ["GRANT CONNECT ON ENDPOINT::e", 102, "Incorrect syntax near 'e'."],
  ["GRANT CONNECT ON ENDPOINT::e FROM l", 156, "Incorrect syntax near the keyword 'FROM'."],
  ["DENY CONNECT ON ENDPOINT::e FROM l", 156, "Incorrect syntax near the keyword 'FROM'."],
  ["GRANT CONNECT ON ENDPOINT::e TO l WITH GRANT", 156, "Incorrect syntax near the keyword 'GRANT'."],
  ["GRANT CONNECT ON ENDPOINT::e TO l CASCADE", 156, "Incorrect syntax near the keyword 'CASCADE'."],
];

for (const [sql, number, message] of syntaxErrors) {
  test(`syntax error ${number}: ${sql}`, () => assertError(sql, number, message));
}

test("a syntax error carries the line of its token", () => {
  assertError("CREATE ENDPOINT e\n  AS TCP (LISTENER_PORT = 7022)\n  FOR DATABASE_MIRRORING (\n    ROLE = BOSS)", 102,
    "Incorrect syntax near 'BOSS'.", 4);
});

const unsupportedForms: ReadonlyArray<[sql: string, construct: string]> = [
  ["CREATE LOGIN a FROM WINDOWS WITH DEFAULT_DATABASE = master", "CREATE LOGIN FROM WINDOWS"],
  ["CREATE LOGIN a FROM ASYMMETRIC KEY k", "CREATE LOGIN FROM ASYMMETRIC KEY"],
  ["CREATE LOGIN a FROM EXTERNAL PROVIDER", "CREATE LOGIN FROM EXTERNAL PROVIDER"],
  ["CREATE LOGIN a WITH PASSWORD = 'p', CREDENTIAL = c", "CREDENTIAL"],
  ["CREATE LOGIN @name WITH PASSWORD = 'p'", "@name"],
  ["CREATE LOGIN a WITH PASSWORD = @password", "@password"],
  ["ALTER LOGIN a WITH PASSWORD = 0x0200 HASHED", "ALTER LOGIN … HASHED"],
  ["ALTER LOGIN a WITH PASSWORD = 'p' MUST_CHANGE", "ALTER LOGIN … MUST_CHANGE"],
  ["ALTER LOGIN a WITH PASSWORD = 'p' UNLOCK", "ALTER LOGIN … UNLOCK"],
  ["ALTER LOGIN a WITH CHECK_EXPIRATION = ON", "ALTER LOGIN … CHECK_EXPIRATION"],
  ["ALTER LOGIN a WITH CREDENTIAL = c", "ALTER LOGIN … CREDENTIAL"],
  ["ALTER LOGIN a WITH NO CREDENTIAL", "ALTER LOGIN … NO CREDENTIAL"],
  ["ALTER LOGIN a ADD CREDENTIAL c", "ALTER LOGIN ADD CREDENTIAL"],
  ["CREATE USER u FROM ASYMMETRIC KEY k", "CREATE USER FROM ASYMMETRIC KEY"],
  ["CREATE USER u FOR EXTERNAL PROVIDER", "CREATE USER FOR EXTERNAL PROVIDER"],
  ["CREATE USER u WITH PASSWORD = 'p'", "CREATE USER … PASSWORD"],
  ["CREATE USER u FOR LOGIN l WITH ALLOW_ENCRYPTED_VALUE_MODIFICATIONS = ON", "CREATE USER … ALLOW_ENCRYPTED_VALUE_MODIFICATIONS"],
  ["ALTER USER u WITH DEFAULT_LANGUAGE = English", "ALTER USER … DEFAULT_LANGUAGE"],
  ["CREATE CERTIFICATE c FROM ASSEMBLY a", "CREATE CERTIFICATE FROM ASSEMBLY"],
  ["CREATE CERTIFICATE c FROM BINARY = 0x3082", "CREATE CERTIFICATE FROM BINARY"],
  ["CREATE CERTIFICATE c FROM FILE = 'c.cer' WITH PRIVATE KEY (BINARY = 0x01)", "PRIVATE KEY BINARY"],
  ["CREATE CERTIFICATE c WITH SUBJECT = 's' ACTIVE FOR BEGIN_DIALOG = ON", "ACTIVE FOR BEGIN_DIALOG"],
  ["CREATE ENDPOINT e AS HTTP (PATH = '/x', AUTHENTICATION = (BASIC), PORTS = (CLEAR)) FOR SOAP ()", "AS HTTP"],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 4022) FOR SERVICE_BROKER (AUTHENTICATION = WINDOWS)", "FOR SERVICE_BROKER"],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 1433) FOR TSQL ()", "FOR TSQL"],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 1433) FOR SOAP ()", "FOR SOAP"],
  ["ALTER ENDPOINT e AUTHORIZATION sa", "ALTER ENDPOINT … AUTHORIZATION"],
  ["GRANT SELECT ON dbo.t TO u", "GRANT … ON OBJECT"],
  ["GRANT SELECT ON OBJECT::dbo.t TO u", "GRANT … ON OBJECT"],
  ["DENY CONNECT ON DATABASE::shop TO u", "DENY … ON DATABASE"],
  ["REVOKE IMPERSONATE ON LOGIN::l FROM u", "REVOKE … ON LOGIN"],
  ["GRANT CONTROL ON CERTIFICATE::c TO u", "GRANT … ON CERTIFICATE"],
  ["GRANT ALTER ANY ENDPOINT TO u", "GRANT ALTER ANY ENDPOINT"],
  ["GRANT VIEW SERVER STATE, CONNECT SQL TO u", "GRANT VIEW SERVER STATE, CONNECT SQL"],
  ["REVOKE GRANT OPTION FOR CONNECT ON ENDPOINT::e FROM l", "REVOKE GRANT OPTION FOR"],
  ["ALTER MASTER KEY REGENERATE WITH ENCRYPTION BY PASSWORD = 'p'", "ALTER MASTER KEY"],
  ["CREATE ROLE r", "CREATE ROLE"],
  ["ALTER CERTIFICATE c WITH PRIVATE KEY (DECRYPTION BY PASSWORD = 'p')", "ALTER CERTIFICATE"],
  ["CREATE CREDENTIAL c WITH IDENTITY = 'i'", "CREATE CREDENTIAL"],
];

for (const [sql, construct] of unsupportedForms) {
  test(`unsupported 40517: ${sql}`, () => assertError(sql, 40517, unsupportedText(construct), 1));
}

test("ALTER ENDPOINT to another transport or payload is 7860", () => {
  for (const sql of ["ALTER ENDPOINT e AS HTTP (PATH = '/x')", "ALTER ENDPOINT e FOR TSQL ()",
    "ALTER ENDPOINT e STATE = STARTED FOR SERVICE_BROKER (AUTHENTICATION = CERTIFICATE c)", "ALTER ENDPOINT e FOR SOAP (WSDL = NONE)"]) {
    assertError(sql, 7860, "Cannot change the transport or the payload type of an endpoint; drop it and create it again.", 1);
  }
});

test("LISTENER_PORT outside 1024..32767 is 7873 naming the port", () => {
  for (const port of [0, 80, 1023, 32768, 65535]) {
    assertError(`CREATE ENDPOINT e AS TCP (LISTENER_PORT = ${port}) FOR DATABASE_MIRRORING (ROLE = ALL)`, 7873,
      `The LISTENER_PORT ${port} is not valid: mirroring endpoints listen on ports 1024 to 32767.`, 1);
  }
  assertError("ALTER ENDPOINT e AS TCP (LISTENER_PORT = 99)", 7873);
});

test("AUTHENTICATION = WINDOWS in any form is 28054", () => {
  for (const authentication of ["WINDOWS", "WINDOWS NTLM", "WINDOWS KERBEROS", "WINDOWS NEGOTIATE",
    "WINDOWS NEGOTIATE CERTIFICATE c", "CERTIFICATE c WINDOWS", "CERTIFICATE c WINDOWS KERBEROS"]) {
    assertError(`CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (AUTHENTICATION = ${authentication}, ROLE = ALL)`,
      28054, undefined, 1);
  }
  assertError("ALTER ENDPOINT e FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS)", 28054);
});

test("ALGORITHM RC4 alone is 28079; with AES it is accepted", () => {
  assertError("CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM RC4, ROLE = ALL)",
    28079, "The RC4 encryption algorithm is not supported; use ALGORITHM AES (or AES RC4 to accept peers that offer both).", 1);
  assertError("ALTER ENDPOINT e FOR DATABASE_MIRRORING (ENCRYPTION = SUPPORTED ALGORITHM RC4)", 28079);
});

const conflicts: ReadonlyArray<[sql: string, second: string, first: string]> = [
  ["CREATE LOGIN a WITH PASSWORD = 'p', PASSWORD = 'q'", "password", "password"],
  ["CREATE LOGIN a WITH PASSWORD = 'p', SID = 0x01, SID = 0x02", "sid", "sid"],
  ["CREATE LOGIN a WITH PASSWORD = 'p', CHECK_POLICY = ON, CHECK_POLICY = OFF", "check_policy", "check_policy"],
  ["CREATE LOGIN a WITH PASSWORD = 'p' MUST_CHANGE, CHECK_POLICY = OFF", "check_policy", "must_change"],
  ["CREATE LOGIN a WITH PASSWORD = 'p' MUST_CHANGE, CHECK_POLICY = ON, CHECK_EXPIRATION = OFF", "check_expiration", "must_change"],
  ["ALTER LOGIN a WITH NAME = b, NAME = c", "name", "name"],
  ["ALTER LOGIN a WITH DEFAULT_DATABASE = x, DEFAULT_DATABASE = y", "default_database", "default_database"],
  ["CREATE USER u WITH DEFAULT_SCHEMA = a, DEFAULT_SCHEMA = b", "default_schema", "default_schema"],
  ["ALTER USER u WITH LOGIN = a, NAME = n, LOGIN = b", "login", "login"],
  ["CREATE CERTIFICATE c WITH SUBJECT = 's', EXPIRY_DATE = '2030-01-01', EXPIRY_DATE = '2031-01-01'", "expiry_date", "expiry_date"],
  ["CREATE CERTIFICATE c WITH SUBJECT = 's', SUBJECT = 't'", "subject", "subject"],
  ["CREATE CERTIFICATE c FROM FILE = 'c' WITH PRIVATE KEY (FILE = 'k', FILE = 'l')", "file", "file"],
  ["BACKUP CERTIFICATE c TO FILE = 'c' WITH PRIVATE KEY (FILE = 'k', ENCRYPTION BY PASSWORD = 'a', ENCRYPTION BY PASSWORD = 'b')",
    "encryption by password", "encryption by password"],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022 LISTENER_PORT = 7023) FOR DATABASE_MIRRORING (ROLE = ALL)", "listener_port", "listener_port"],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022, LISTENER_IP = ALL, LISTENER_IP = (10.0.0.1)) FOR DATABASE_MIRRORING (ROLE = ALL)",
    "listener_ip", "listener_ip"],
  ["CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (ROLE = ALL, ROLE = PARTNER)", "role", "role"],
  ["ALTER ENDPOINT e FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED, ENCRYPTION = DISABLED)", "encryption", "encryption"],
  ["ALTER ENDPOINT e FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE a AUTHENTICATION = CERTIFICATE b)",
    "authentication", "authentication"],
];

for (const [sql, second, first] of conflicts) {
  test(`repeated or contradictory options, 3031: ${sql}`, () => assertError(sql, 3031, conflictText(second, first), 1));
}

test("precedence: syntax and 40517 before the errors found once the statement is complete", () => {
  assertError("CREATE ENDPOINT e AS TCP (LISTENER_PORT = 80) FOR DATABASE_MIRRORING (ROLE = ALL, ROLE = BOSS)", 102);
  assertError("CREATE ENDPOINT e AS TCP (LISTENER_PORT = 80) FOR TSQL ()", 40517);
  assertError("CREATE LOGIN a WITH PASSWORD = 'p', SID = 0x01, SID = 0x02, CREDENTIAL = c", 40517);
  // Among the late errors, the first written wins.
  assertError("CREATE ENDPOINT e AS TCP (LISTENER_PORT = 80) FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS, ROLE = ALL)", 7873);
  assertError("CREATE ENDPOINT e AS TCP (LISTENER_PORT = 7022) FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS, ENCRYPTION = REQUIRED ALGORITHM RC4, ROLE = ALL)", 28054);
});

test("late errors carry the statement's first line, syntax errors their token's", () => {
  const statements = parseBatch("SELECT 1\nCREATE ENDPOINT e\n  AS TCP (LISTENER_PORT = 80)\n  FOR DATABASE_MIRRORING (ROLE = ALL)");
  assertThrowsSql(() => parseSecurityStatement(statements[1] as AdminStatement), "port", 7873, undefined, 2);
  const batch = parseBatch("SELECT 1\nCREATE LOGIN a\n  WITH PASSWORD = 'p',\n  BOGUS = 1");
  assertThrowsSql(() => parseSecurityStatement(batch[1] as AdminStatement), "bogus", 102, "Incorrect syntax near 'BOGUS'.", 4);
  assert.equal(parseSecurityStatement(parseBatch("SELECT 1\n\nDROP LOGIN a")[1] as AdminStatement).line, 3);
});

test("ALTER LOGIN … DROP (built directly: parser.ts splits it at DROP)", () => {
  const alter = (sql: string) => () => parseSecurityStatement(adminStatement(sql, "ALTER LOGIN"));
  assertThrowsSql(alter("ALTER LOGIN a DROP CREDENTIAL c"), "drop", 40517, unsupportedText("ALTER LOGIN DROP CREDENTIAL"));
  assertThrowsSql(alter("ALTER LOGIN a DROP FOO"), "drop foo", 102, "Incorrect syntax near 'FOO'.");
});

test("verbs that are not security statements are 40517 naming the verb", () => {
  assertThrowsSql(() => parseSecurityStatement(adminStatement("BACKUP DATABASE a TO DISK = 'a'", "BACKUP DATABASE")),
    "backup", 40517, unsupportedText("BACKUP DATABASE"));
});
