// Logins, users, the database master key, certificates, mirroring endpoints and endpoint
// permissions (spec/mirroring.md §3.1–3.8): turns an admin statement the batch parser
// delimited into a typed command for the security subsystem. Pure: it reads tokens and
// throws SqlErrors. Shared readers and clauses live in security_options.ts.
//
// Errors, in the order SQL Server reports them (compile time first, then option checks):
// - malformed syntax, unknown option words, a missing required option: 102/156 near the token
//   (a missing option inside parentheses: near the ")"; a statement cut short: its last token);
// - what mirrorlite does not run (Windows logins, asymmetric keys, contained users, FROM
//   ASSEMBLY/BINARY, other endpoint kinds, grants on anything but an endpoint …): 40517;
// - once the statement is well formed: repeated or contradictory options 3031, LISTENER_PORT
//   out of range 7873, AUTHENTICATION = WINDOWS 28054, ALGORITHM RC4 alone 28079.

import type { Token } from "./lexer.js";
import { tokenError } from "./cursor.js";
import { unsupported } from "./errors.js";
import type { AdminStatement } from "./statements.js";
import {
  Reader, distinct, optionList, readLanguage, readList, readMirroring, readPrivateKey, readState, readTcp,
} from "./security_options.js";

export type SecurityCommand =
  | { kind: "createLogin"; name: string; password: string | null; hashedPassword: Buffer | null; mustChange: boolean;
      sid: Buffer | null; defaultDatabase: string | null; checkPolicy: boolean | null; checkExpiration: boolean | null;
      fromCertificate: string | null; line: number }
  | { kind: "alterLogin"; name: string; password: string | null; oldPassword: string | null; enable: boolean | null;
      newName: string | null; defaultDatabase: string | null; checkPolicy: boolean | null; line: number }
  | { kind: "dropLogin"; name: string; line: number }
  | { kind: "createUser"; name: string; login: string | null; withoutLogin: boolean; certificate: string | null;
      defaultSchema: string | null; line: number }
  | { kind: "alterUser"; name: string; login: string | null; newName: string | null; defaultSchema: string | null; line: number }
  | { kind: "dropUser"; name: string; ifExists: boolean; line: number }
  | { kind: "createMasterKey"; password: string | null; line: number }
  | { kind: "dropMasterKey"; line: number }
  | { kind: "createCertificate"; name: string; owner: string | null; subject: string | null; startDate: string | null;
      expiryDate: string | null; encryptionPassword: string | null; fromFile: string | null;
      privateKey: { file: string; decryptionPassword: string | null; encryptionPassword: string | null } | null; line: number }
  | { kind: "dropCertificate"; name: string; line: number }
  | { kind: "backupCertificate"; name: string; file: string;
      privateKey: { file: string; encryptionPassword: string; decryptionPassword: string | null } | null; line: number }
  | { kind: "createEndpoint"; name: string; owner: string | null; state: "STARTED" | "STOPPED" | "DISABLED" | null;
      port: number; listenerIp: string | null;
      mirroring: EndpointMirroringOptions; line: number }
  | { kind: "alterEndpoint"; name: string; state: "STARTED" | "STOPPED" | "DISABLED" | null; port: number | null;
      listenerIp: string | null | undefined;
      mirroring: EndpointMirroringOptions | null; line: number }
  | { kind: "dropEndpoint"; name: string; line: number }
  | { kind: "endpointPermission"; action: "GRANT" | "REVOKE" | "DENY"; permissions: string[]; endpoint: string;
      principals: string[]; line: number };

export interface EndpointMirroringOptions {
  role: "PARTNER" | "WITNESS" | "ALL" | null;
  certificate: string | null;            // AUTHENTICATION = CERTIFICATE name
  encryption: "DISABLED" | "SUPPORTED" | "REQUIRED" | null;
  algorithms: ("AES" | "RC4")[] | null;  // ALGORITHM AES | RC4 | AES RC4 | RC4 AES, in the order written
}

type Command<K extends SecurityCommand["kind"]> = Extract<SecurityCommand, { kind: K }>;

type Parser = (reader: Reader) => SecurityCommand;

const parsers: ReadonlyMap<string, Parser> = new Map<string, Parser>([
  ["CREATE LOGIN", createLogin], ["ALTER LOGIN", alterLogin], ["DROP LOGIN", dropNamed("dropLogin")],
  ["CREATE USER", createUser], ["ALTER USER", alterUser], ["DROP USER", dropUser],
  ["CREATE MASTER KEY", createMasterKey], ["DROP MASTER KEY", (reader) => ({ kind: "dropMasterKey", line: reader.line })],
  ["CREATE CERTIFICATE", createCertificate], ["DROP CERTIFICATE", dropNamed("dropCertificate")],
  ["BACKUP CERTIFICATE", backupCertificate],
  ["CREATE ENDPOINT", createEndpoint], ["ALTER ENDPOINT", alterEndpoint], ["DROP ENDPOINT", dropNamed("dropEndpoint")],
  ["GRANT", endpointPermission], ["REVOKE", endpointPermission], ["DENY", endpointPermission],
]);

/**
 * Parses one security statement, dispatching on the verb parser.ts gave it. Any other admin
 * verb (ALTER MASTER KEY, CREATE ROLE, CREATE CREDENTIAL …) is 40517 naming the verb. Throws
 * 102/156, 40517, 3031, 7873, 28054 or 28079 as described at the top of this file.
 */
export function parseSecurityStatement(statement: AdminStatement): SecurityCommand {
  const parse = parsers.get(statement.verb);
  if (parse === undefined) throw unsupported(statement.verb, statement.line);
  const reader = new Reader(statement);
  const command = parse(reader);
  reader.finish();
  return command;
}

function dropNamed<K extends "dropLogin" | "dropCertificate" | "dropEndpoint">(kind: K): Parser {
  return (reader) => ({ kind, name: reader.name(), line: reader.line }) as SecurityCommand;
}

// ---------------------------------------------------------------------------------------
// Logins and users (§3.7, §3.8)

/** CREATE LOGIN name { WITH PASSWORD = … [, option]… | FROM CERTIFICATE c }. */
function createLogin(reader: Reader): Command<"createLogin"> {
  const command: Command<"createLogin"> = {
    kind: "createLogin", name: reader.name(), password: null, hashedPassword: null, mustChange: false,
    sid: null, defaultDatabase: null, checkPolicy: null, checkExpiration: null, fromCertificate: null,
    line: reader.line,
  };
  if (reader.cursor.acceptWord("FROM") !== null) return { ...command, fromCertificate: loginSource(reader) };
  reader.cursor.expectWord("WITH");
  const seen = reader.options();
  optionList(reader, "PASSWORD", (word, token) => {
    seen.note(word);
    createLoginOption(reader, command, word, token);
    if (word === "PASSWORD" && reader.cursor.acceptWord("MUST_CHANGE") !== null) {
      command.mustChange = true;
      seen.note("MUST_CHANGE");
    }
  });
  // MUST_CHANGE needs both checks on; an explicit OFF contradicts it (the defaults are the
  // executor's to check).
  if (command.checkPolicy === false) seen.contradict("MUST_CHANGE", "CHECK_POLICY");
  if (command.checkExpiration === false) seen.contradict("MUST_CHANGE", "CHECK_EXPIRATION");
  return command;
}

function createLoginOption(reader: Reader, command: Command<"createLogin">, word: string, token: Token): void {
  switch (word) {
    case "PASSWORD": return readLoginPassword(reader, command);
    case "SID":
      reader.cursor.expectOp("=");
      command.sid = reader.binary();
      return;
    case "DEFAULT_DATABASE":
      command.defaultDatabase = reader.assignedName();
      return;
    case "DEFAULT_LANGUAGE": return readLanguage(reader);
    case "CHECK_POLICY":
      command.checkPolicy = reader.onOff();
      return;
    case "CHECK_EXPIRATION":
      command.checkExpiration = reader.onOff();
      return;
    case "CREDENTIAL": throw unsupported(word, token.line);
    default: throw tokenError(token);
  }
}

/** `= 'password'` or `= 0x… HASHED` (the hash as sys.sql_logins shows it). */
function readLoginPassword(reader: Reader, command: Command<"createLogin">): void {
  reader.cursor.expectOp("=");
  if (reader.cursor.peek()?.kind !== "binary") {
    command.password = reader.string();
    return;
  }
  command.hashedPassword = reader.binary();
  reader.cursor.expectWord("HASHED");
}

/** After CREATE LOGIN name FROM: CERTIFICATE c; Windows, key and Entra sources are 40517. */
function loginSource(reader: Reader): string {
  const { word, token } = reader.optionWord();
  if (word === "CERTIFICATE") return reader.name();
  if (word === "WINDOWS") throw unsupported("CREATE LOGIN FROM WINDOWS", token.line);
  if (word === "ASYMMETRIC" && reader.cursor.isWord("KEY")) throw unsupported("CREATE LOGIN FROM ASYMMETRIC KEY", token.line);
  if (word === "EXTERNAL" && reader.cursor.isWord("PROVIDER")) {
    throw unsupported("CREATE LOGIN FROM EXTERNAL PROVIDER", token.line);
  }
  throw tokenError(token);
}

/** ALTER LOGIN name { ENABLE | DISABLE | WITH option [, option]… }. */
function alterLogin(reader: Reader): Command<"alterLogin"> {
  const command: Command<"alterLogin"> = {
    kind: "alterLogin", name: reader.name(), password: null, oldPassword: null, enable: null,
    newName: null, defaultDatabase: null, checkPolicy: null, line: reader.line,
  };
  const action = reader.cursor.expectWord("ENABLE", "DISABLE", "WITH", "ADD", "DROP");
  if (action === "ENABLE" || action === "DISABLE") return { ...command, enable: action === "ENABLE" };
  if (action !== "WITH") throw credentialChange(reader, action);
  const seen = reader.options();
  optionList(reader, null, (word, token) => {
    seen.note(word);
    alterLoginOption(reader, command, word, token);
  });
  return command;
}

/** ALTER LOGIN name { ADD | DROP } CREDENTIAL c: no credentials here. */
function credentialChange(reader: Reader, action: string): Error {
  const word = reader.cursor.next();
  if (word.kind !== "word" || word.text.toUpperCase() !== "CREDENTIAL") return tokenError(word);
  return unsupported(`ALTER LOGIN ${action} CREDENTIAL`, word.line);
}

function alterLoginOption(reader: Reader, command: Command<"alterLogin">, word: string, token: Token): void {
  switch (word) {
    case "PASSWORD": return readNewPassword(reader, command);
    case "DEFAULT_DATABASE":
      command.defaultDatabase = reader.assignedName();
      return;
    case "DEFAULT_LANGUAGE": return readLanguage(reader);
    case "NAME":
      command.newName = reader.assignedName();
      return;
    case "CHECK_POLICY":
      command.checkPolicy = reader.onOff();
      return;
    // Settings the command has no field for: refused rather than silently dropped.
    case "CHECK_EXPIRATION": case "CREDENTIAL": throw unsupported(`ALTER LOGIN … ${word}`, token.line);
    case "NO":
      if (reader.cursor.isWord("CREDENTIAL")) throw unsupported("ALTER LOGIN … NO CREDENTIAL", token.line);
      throw tokenError(token);
    default: throw tokenError(token);
  }
}

/** `= 'new' [OLD_PASSWORD = 'old']`; HASHED, MUST_CHANGE and UNLOCK have no field: 40517. */
function readNewPassword(reader: Reader, command: Command<"alterLogin">): void {
  const cursor = reader.cursor;
  cursor.expectOp("=");
  const value = cursor.peek();
  if (value?.kind === "binary") throw unsupported("ALTER LOGIN … HASHED", value.line);
  command.password = reader.string();
  if (cursor.acceptWord("OLD_PASSWORD") !== null) {
    command.oldPassword = reader.assignedString();
    return;
  }
  const option = cursor.peek();
  if (cursor.acceptWord("MUST_CHANGE", "UNLOCK") !== null) {
    throw unsupported(`ALTER LOGIN … ${option!.text.toUpperCase()}`, option!.line);
  }
}

/**
 * CREATE USER name [ {FOR|FROM} LOGIN l | WITHOUT LOGIN ] [WITH DEFAULT_SCHEMA = s]
 * | CREATE USER name {FOR|FROM} CERTIFICATE c. With no login clause the user maps to the
 * login of the same name (all three fields null/false).
 */
function createUser(reader: Reader): Command<"createUser"> {
  const cursor = reader.cursor;
  const command: Command<"createUser"> = {
    kind: "createUser", name: reader.name(), login: null, withoutLogin: false, certificate: null,
    defaultSchema: null, line: reader.line,
  };
  if (cursor.acceptWord("WITHOUT") !== null) {
    cursor.expectWord("LOGIN");
    command.withoutLogin = true;
  } else {
    const via = cursor.acceptWord("FOR", "FROM");
    const { word, token } = via === null ? { word: "", token: null } : reader.optionWord();
    if (word === "LOGIN") command.login = reader.name();
    else if (word === "CERTIFICATE") return { ...command, certificate: reader.name() };
    else if (token !== null) throw userSourceError(reader, `${via} ${word}`, token);
  }
  if (cursor.acceptWord("WITH") !== null) readUserOptions(reader, command);
  return command;
}

/** FOR/FROM ASYMMETRIC KEY and EXTERNAL PROVIDER are 40517; anything else a syntax error. */
function userSourceError(reader: Reader, source: string, token: Token): Error {
  const second = reader.cursor.peek()?.text.toUpperCase();
  if (source.endsWith(" ASYMMETRIC") && second === "KEY") return unsupported(`CREATE USER ${source} KEY`, token.line);
  if (source.endsWith(" EXTERNAL") && second === "PROVIDER") return unsupported(`CREATE USER ${source} PROVIDER`, token.line);
  return tokenError(token);
}

function readUserOptions(reader: Reader, command: Command<"createUser">): void {
  const seen = reader.options();
  optionList(reader, null, (word, token) => {
    seen.note(word);
    if (word === "DEFAULT_SCHEMA") command.defaultSchema = reader.assignedName();
    else throw userOptionError(word, token, "CREATE USER");
  });
}

/** Contained-database and Always Encrypted options are 40517; unknown words 102/156. */
function userOptionError(word: string, token: Token, statement: string): Error {
  const refused = ["PASSWORD", "SID", "DEFAULT_LANGUAGE", "ALLOW_ENCRYPTED_VALUE_MODIFICATIONS"];
  return refused.includes(word) ? unsupported(`${statement} … ${word}`, token.line) : tokenError(token);
}

/** ALTER USER name WITH { LOGIN = l | NAME = n | DEFAULT_SCHEMA = s } [, …]. */
function alterUser(reader: Reader): Command<"alterUser"> {
  const command: Command<"alterUser"> = {
    kind: "alterUser", name: reader.name(), login: null, newName: null, defaultSchema: null, line: reader.line,
  };
  reader.cursor.expectWord("WITH");
  const seen = reader.options();
  optionList(reader, null, (word, token) => {
    seen.note(word);
    if (word === "LOGIN") command.login = reader.assignedName();
    else if (word === "NAME") command.newName = reader.assignedName();
    else if (word === "DEFAULT_SCHEMA") command.defaultSchema = reader.assignedName();
    else throw userOptionError(word, token, "ALTER USER");
  });
  return command;
}

/** DROP USER [IF EXISTS] name. */
function dropUser(reader: Reader): Command<"dropUser"> {
  const ifExists = reader.cursor.acceptWord("IF") !== null;
  if (ifExists) reader.cursor.expectWord("EXISTS");
  return { kind: "dropUser", name: reader.name(), ifExists, line: reader.line };
}

// ---------------------------------------------------------------------------------------
// Master key and certificates (§3.4–3.6)

/** CREATE MASTER KEY [ENCRYPTION BY PASSWORD = 'p']: the executor requires the password. */
function createMasterKey(reader: Reader): Command<"createMasterKey"> {
  const password = reader.cursor.acceptWord("ENCRYPTION") === null ? null : reader.byPassword();
  return { kind: "createMasterKey", password, line: reader.line };
}

/**
 * CREATE CERTIFICATE name [AUTHORIZATION user] then either FROM [EXECUTABLE] FILE = 'path'
 * [WITH PRIVATE KEY (…)] or [ENCRYPTION BY PASSWORD = 'p'] WITH SUBJECT = 's' [, date]….
 * EXECUTABLE is accepted and not reported: the executor reads the file as a certificate.
 */
function createCertificate(reader: Reader): Command<"createCertificate"> {
  const cursor = reader.cursor;
  const name = reader.name();
  const command: Command<"createCertificate"> = {
    kind: "createCertificate", name, owner: cursor.acceptWord("AUTHORIZATION") === null ? null : reader.name(),
    subject: null, startDate: null, expiryDate: null, encryptionPassword: null, fromFile: null,
    privateKey: null, line: reader.line,
  };
  if (cursor.acceptWord("FROM") !== null) readCertificateSource(reader, command);
  else readGeneratedCertificate(reader, command);
  const active = cursor.peek();
  if (active !== undefined && cursor.acceptWord("ACTIVE") !== null) {
    throw unsupported("ACTIVE FOR BEGIN_DIALOG", active.line);
  }
  return command;
}

function readCertificateSource(reader: Reader, command: Command<"createCertificate">): void {
  const cursor = reader.cursor;
  const { word, token } = reader.optionWord();
  if (word === "ASSEMBLY" || word === "BINARY") throw unsupported(`CREATE CERTIFICATE FROM ${word}`, token.line);
  if (word === "EXECUTABLE") cursor.expectWord("FILE");
  else if (word !== "FILE") throw tokenError(token);
  command.fromFile = reader.assignedString();
  if (cursor.acceptWord("WITH") !== null) command.privateKey = readPrivateKey(reader, "create");
}

function readGeneratedCertificate(reader: Reader, command: Command<"createCertificate">): void {
  if (reader.cursor.acceptWord("ENCRYPTION") !== null) command.encryptionPassword = reader.byPassword();
  reader.cursor.expectWord("WITH");
  const seen = reader.options();
  optionList(reader, "SUBJECT", (word, token) => {
    seen.note(word);
    if (word === "SUBJECT") command.subject = reader.assignedString();
    else if (word === "START_DATE") command.startDate = reader.assignedString();
    else if (word === "EXPIRY_DATE") command.expiryDate = reader.assignedString();
    else throw tokenError(token);
  });
}

/** BACKUP CERTIFICATE name TO FILE = 'path' [WITH PRIVATE KEY (FILE = …, ENCRYPTION BY PASSWORD = …)]. */
function backupCertificate(reader: Reader): Command<"backupCertificate"> {
  const cursor = reader.cursor;
  const name = reader.name();
  cursor.expectWord("TO");
  cursor.expectWord("FILE");
  const file = reader.assignedString();
  if (cursor.acceptWord("WITH") === null) return { kind: "backupCertificate", name, file, privateKey: null, line: reader.line };
  const key = readPrivateKey(reader, "backup");
  const privateKey = { file: key.file, encryptionPassword: key.encryptionPassword!, decryptionPassword: key.decryptionPassword };
  return { kind: "backupCertificate", name, file, privateKey, line: reader.line };
}

// ---------------------------------------------------------------------------------------
// Endpoints (§3.1, §3.2)

const transports = ["TCP", "HTTP"];
const payloads = ["DATABASE_MIRRORING", "TSQL", "SERVICE_BROKER", "SOAP", "DATA_MIRRORING"];

/**
 * CREATE ENDPOINT name [AUTHORIZATION login] [STATE = s] AS TCP ( LISTENER_PORT = n … )
 * FOR DATABASE_MIRRORING ( … ROLE = r ): LISTENER_PORT and ROLE are required (near ")").
 */
function createEndpoint(reader: Reader): Command<"createEndpoint"> {
  const cursor = reader.cursor;
  const name = reader.name();
  const owner = cursor.acceptWord("AUTHORIZATION") === null ? null : reader.name();
  const state = readState(reader);
  cursor.expectWord("AS");
  readKind(reader, transports, (word, token) => unsupported(`AS ${word}`, token.line));
  const tcp = readTcp(reader);
  if (tcp.port === null) throw tokenError(tcp.close);
  cursor.expectWord("FOR");
  readKind(reader, payloads, (word, token) => unsupported(`FOR ${word}`, token.line));
  const mirroring = readMirroring(reader);
  if (mirroring.options.role === null) throw tokenError(mirroring.close);
  return {
    kind: "createEndpoint", name, owner, state, port: tcp.port, listenerIp: tcp.listenerIp ?? null,
    mirroring: mirroring.options, line: reader.line,
  };
}

/**
 * The word after AS or FOR: TCP / DATABASE_MIRRORING go on; another known transport or
 * payload is `other` (40517 for CREATE, 7860 for ALTER); an unknown word a syntax error.
 */
function readKind(reader: Reader, known: readonly string[], other: (word: string, token: Token) => Error): void {
  const { word, token } = reader.optionWord();
  if (word === known[0]) return;
  throw known.includes(word) ? other(word, token) : tokenError(token);
}

/**
 * ALTER ENDPOINT name [STATE = s] [AS TCP ( … )] [FOR DATABASE_MIRRORING ( … )]: every
 * clause optional but at least one given; inside the parentheses every option is optional.
 */
function alterEndpoint(reader: Reader): Command<"alterEndpoint"> {
  const cursor = reader.cursor;
  const name = reader.name();
  const authorization = cursor.peek();
  if (authorization !== undefined && cursor.acceptWord("AUTHORIZATION") !== null) {
    throw unsupported("ALTER ENDPOINT … AUTHORIZATION", authorization.line);
  }
  const command: Command<"alterEndpoint"> = {
    kind: "alterEndpoint", name, state: readState(reader), port: null, listenerIp: undefined, mirroring: null,
    line: reader.line,
  };
  const changed = (): Error => reader.error("ENDPOINT_TRANSPORT_CHANGE");
  if (cursor.acceptWord("AS") !== null) {
    readKind(reader, transports, changed);
    ({ port: command.port, listenerIp: command.listenerIp } = readTcp(reader));
  }
  if (cursor.acceptWord("FOR") !== null) {
    readKind(reader, payloads, changed);
    command.mirroring = readMirroring(reader).options;
  }
  if (command.state === null && command.port === null && command.listenerIp === undefined && command.mirroring === null) {
    throw cursor.unexpected();
  }
  return command;
}

// ---------------------------------------------------------------------------------------
// GRANT / REVOKE / DENY … ON ENDPOINT:: (§3.3)

const endpointPermissions = ["CONNECT", "ALTER", "CONTROL", "TAKE", "VIEW"];

/**
 * GRANT perm [, perm]… ON ENDPOINT::name TO p [, p]… [WITH GRANT OPTION] [AS grantor];
 * DENY … TO … [CASCADE] [AS …]; REVOKE … {TO | FROM} … [CASCADE] [AS …]. WITH GRANT OPTION,
 * CASCADE and AS are accepted and not reported: only sysadmin administers security here, so
 * grant chains and grantors change nothing.
 */
function endpointPermission(reader: Reader): Command<"endpointPermission"> {
  const cursor = reader.cursor;
  const action = reader.verb as Command<"endpointPermission">["action"];
  if (action === "REVOKE" && cursor.isWord("GRANT")) throw unsupported("REVOKE GRANT OPTION FOR", reader.line);
  refuseOtherSecurables(reader, action);
  const permissions = distinct(readList(reader, () => readPermission(reader)));
  cursor.expectWord("ON");
  cursor.expectWord("ENDPOINT");
  cursor.expectOp("::");
  const endpoint = reader.name();
  cursor.expectWord(...(action === "REVOKE" ? ["TO", "FROM"] : ["TO"]));
  const principals = distinct(readList(reader, () => readPrincipal(reader)));
  readPermissionTail(reader, action);
  return { kind: "endpointPermission", action, permissions, endpoint, principals, line: reader.line };
}

/**
 * Looks ahead to what is granted on: only ENDPOINT:: is served. A server-level grant (no ON
 * before TO/FROM) is 40517 naming its permissions; ON class:: or ON object 40517 naming the
 * class. A statement cut short is left to the grammar for its syntax error.
 */
function refuseOtherSecurables(reader: Reader, action: string): void {
  const tokens = reader.cursor.tokens;
  const start = reader.cursor.position;
  const on = tokens.findIndex((token, index) => index >= start && token.kind === "word"
    && ["ON", "TO", "FROM"].includes(token.text.toUpperCase()));
  if (on < 0) return;
  const line = tokens[start - 1]!.line;
  if (tokens[on]!.text.toUpperCase() !== "ON") {
    const words = tokens.slice(start, on).map((token) => token.text.toUpperCase()).join(" ").replaceAll(" ,", ",");
    throw unsupported(`${action} ${words}`, line);
  }
  const securable = tokens[on + 1];
  if (securable === undefined) return;
  const scoped = tokens[on + 2]?.kind === "op" && tokens[on + 2]!.text === "::";
  const kind = scoped && securable.kind === "word" ? securable.text.toUpperCase() : "OBJECT";
  if (kind !== "ENDPOINT") throw unsupported(`${action} … ON ${kind}`, line);
}

/** CONNECT, ALTER, CONTROL, TAKE OWNERSHIP or VIEW DEFINITION, upper-cased. */
function readPermission(reader: Reader): string {
  const word = reader.cursor.expectWord(...endpointPermissions);
  if (word === "TAKE") return `TAKE ${reader.cursor.expectWord("OWNERSHIP")}`;
  if (word === "VIEW") return `VIEW ${reader.cursor.expectWord("DEFINITION")}`;
  return word;
}

/** A login name, [quoted] or plain; PUBLIC (a reserved word) is the public server role. */
function readPrincipal(reader: Reader): string {
  if (reader.cursor.acceptWord("PUBLIC") !== null) return "public";
  return reader.name();
}

function readPermissionTail(reader: Reader, action: string): void {
  const cursor = reader.cursor;
  if (action === "GRANT" && cursor.acceptWord("WITH") !== null) {
    cursor.expectWord("GRANT");
    cursor.expectWord("OPTION");
  }
  if (action !== "GRANT") cursor.acceptWord("CASCADE");
  if (cursor.acceptWord("AS") !== null) reader.name();
}
