// Logins, users, the master key and certificates for a session: permission checks first (only
// sysadmin administers security; anyone else gets 15247 and nothing changes), then the
// catalog (logins, keys and certificates live in master) or the database (users).
import { X509Certificate, createHash, createPrivateKey, generateKeyPair, randomBytes, sign, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { CertificateEntry, LoginEntry } from "../catalog/master.js";
import { SqlError } from "../errors/sql_error.js";
import {
  createMasterKey, openMasterKey, openPrivateKey, sealPrivateKey, sealPrivateKeyWithPassword,
  serviceMasterKey,
} from "../security/keys.js";
import { hashPassword, passwordPolicyProblem, sqlServerHashForm } from "../security/password.js";
import { buildSelfSignedCertificate } from "../security/x509.js";
import type { SecurityCommand } from "../tsql/security_statements.js";
import { deleteUser, insertUser, newSid, updateUser } from "./principals.js";
import type { TsqlSession } from "./tsql_session.js";

const generateRsa = promisify(generateKeyPair);
type Command<K extends SecurityCommand["kind"]> = Extract<SecurityCommand, { kind: K }>;

/** Only sysadmin administers security (SQL Server: securityadmin, CONTROL SERVER, …). */
export function requireSysadmin(session: TsqlSession): void {
  if (!session.isSysadmin) throw new SqlError("NO_PERMISSION");
}

export async function createLogin(session: TsqlSession, command: Command<"createLogin">): Promise<void> {
  requireSysadmin(session);
  const catalog = session.instance.catalog;
  if (catalog.login(command.name) !== undefined) throw new SqlError("SERVER_PRINCIPAL_EXISTS", [command.name]);
  const sid = command.sid === null ? newSid() : sidHex(command.sid);
  if (catalog.loginBySid(sid) !== undefined) throw new SqlError("SID_EXISTS");
  const now = new Date().toISOString();
  const base = { name: command.name, sid, defaultDatabase: command.defaultDatabase ?? "master",
    sysadmin: false, disabled: false, createDate: now, modifyDate: now,
    principalId: catalog.nextPrincipalId(), checkPolicy: command.checkPolicy ?? true,
    checkExpiration: command.checkExpiration ?? false };
  if (command.fromCertificate !== null) {
    if (catalog.certificate(command.fromCertificate) === undefined) {
      throw new SqlError("CERTIFICATE_MISSING", [command.fromCertificate]);
    }
    catalog.addLogin({ ...base, passwordHash: "", type: "C", certificate: command.fromCertificate,
      checkPolicy: false });
    return;
  }
  catalog.addLogin({ ...base, type: "S", passwordHash: await passwordHashFor(command, base.checkPolicy) });
}

async function passwordHashFor(command: Command<"createLogin">, checkPolicy: boolean): Promise<string> {
  if (command.hashedPassword !== null) return hashedForm(command.hashedPassword);
  const password = command.password ?? "";
  if (checkPolicy && passwordPolicyProblem(password, command.name) !== null) throw new SqlError("PASSWORD_POLICY");
  return hashPassword(password);
}

/**
 * PASSWORD = 0x… HASHED takes SQL Server's own hashes (0x0200…, from another SQL Server) or
 * the hash sys.sql_logins.password_hash shows here (our scrypt form).
 */
function hashedForm(bytes: Buffer): string {
  const sqlServer = sqlServerHashForm(bytes);
  if (sqlServer !== null) return sqlServer;
  const text = bytes.toString("utf8");
  if (!text.startsWith("scrypt$")) throw new SqlError("PASSWORD_HASH_INVALID");
  return text;
}

function sidHex(sid: Buffer): string {
  if (sid.length !== 16) throw new SqlError("SID_INVALID");
  return sid.toString("hex").toUpperCase();
}

export async function alterLogin(session: TsqlSession, command: Command<"alterLogin">): Promise<void> {
  const catalog = session.instance.catalog;
  const login = catalog.login(command.name);
  const self = login !== undefined && login.name.toLowerCase() === session.login.name.toLowerCase();
  const ownPassword = self && command.password !== null && command.oldPassword !== null
    && command.enable === null && command.newName === null && command.defaultDatabase === null;
  if (!ownPassword) requireSysadmin(session);
  if (login === undefined) throw new SqlError("LOGIN_MISSING", ["alter", command.name]);
  let next: LoginEntry = { ...login, modifyDate: new Date().toISOString() };
  if (command.password !== null) {
    if (ownPassword && !await session.instance.passwords.verify(login.name, command.oldPassword!, login.passwordHash)) {
      throw new SqlError("LOGIN_FAILED", [login.name]);
    }
    const policy = command.checkPolicy ?? login.checkPolicy ?? true;
    if (policy && passwordPolicyProblem(command.password, login.name) !== null) throw new SqlError("PASSWORD_POLICY");
    next = { ...next, passwordHash: await hashPassword(command.password) };
  }
  if (command.enable !== null) next = { ...next, disabled: !command.enable };
  if (command.defaultDatabase !== null) next = { ...next, defaultDatabase: command.defaultDatabase };
  if (command.checkPolicy !== null) next = { ...next, checkPolicy: command.checkPolicy };
  if (command.newName !== null) {
    if (catalog.login(command.newName) !== undefined) throw new SqlError("SERVER_PRINCIPAL_EXISTS", [command.newName]);
    next = { ...next, name: command.newName };
  }
  catalog.replaceLogin(login.name, next);
}

export async function dropLogin(session: TsqlSession, command: Command<"dropLogin">): Promise<void> {
  requireSysadmin(session);
  const catalog = session.instance.catalog;
  const login = catalog.login(command.name);
  if (login === undefined) throw new SqlError("LOGIN_MISSING", ["drop", command.name]);
  if (login.sid === "01" || session.instance.loggedIn(login.name)) {
    throw new SqlError("LOGIN_DROP_CURRENT", [login.name]);
  }
  catalog.removeLogin(login.name);
}

export async function createUser(session: TsqlSession, command: Command<"createUser">): Promise<void> {
  requireSysadmin(session);
  const { id, db } = currentDatabase(session);
  const cache = session.instance.principals;
  const users = await cache.load(id, db);
  const now = new Date();
  if (command.certificate !== null) {
    if (session.instance.catalog.certificate(command.certificate) === undefined) {
      throw new SqlError("CERTIFICATE_MISSING", [command.certificate]);
    }
    await insertUser(db, users, { name: command.name, type: "C", sid: null, authenticationType: "NONE",
      defaultSchema: command.defaultSchema, certificate: command.certificate }, now);
  } else if (command.withoutLogin) {
    await insertUser(db, users, { name: command.name, type: "S", sid: newSid(), authenticationType: "NONE",
      defaultSchema: command.defaultSchema, certificate: null }, now);
  } else {
    const loginName = command.login ?? command.name;
    const login = session.instance.catalog.login(loginName);
    if (login === undefined) throw new SqlError("LOGIN_NOT_VALID", [loginName]);
    if (users.some((user) => user.sid === login.sid)) throw new SqlError("LOGIN_ALREADY_MAPPED");
    await insertUser(db, users, { name: command.name, type: "S", sid: login.sid, authenticationType: "INSTANCE",
      defaultSchema: command.defaultSchema, certificate: null }, now);
  }
  await afterUserChange(session, id);
}

export async function alterUser(session: TsqlSession, command: Command<"alterUser">): Promise<void> {
  requireSysadmin(session);
  const { id, db } = currentDatabase(session);
  const users = await session.instance.principals.load(id, db);
  const user = users.find((row) => row.name.toLowerCase() === command.name.toLowerCase());
  if (user === undefined) throw new SqlError("USER_MISSING", ["alter", command.name]);
  const change: { sid?: string; newName?: string; defaultSchema?: string } = {};
  if (command.login !== null) {
    const login = session.instance.catalog.login(command.login);
    if (login === undefined) throw new SqlError("LOGIN_NOT_VALID", [command.login]);
    if (users.some((row) => row.sid === login.sid && row.name !== user.name)) throw new SqlError("LOGIN_ALREADY_MAPPED");
    change.sid = login.sid;
  }
  if (command.newName !== null) {
    if (users.some((row) => row.name.toLowerCase() === command.newName!.toLowerCase())) {
      throw new SqlError("USER_EXISTS", [command.newName]);
    }
    change.newName = command.newName;
  }
  if (command.defaultSchema !== null) change.defaultSchema = command.defaultSchema;
  await updateUser(db, user.name, change);
  await afterUserChange(session, id);
}

export async function dropUser(session: TsqlSession, command: Command<"dropUser">): Promise<void> {
  requireSysadmin(session);
  const { id, db, name } = currentDatabase(session);
  const users = await session.instance.principals.load(id, db);
  const user = users.find((row) => row.name.toLowerCase() === command.name.toLowerCase());
  if (user === undefined) {
    if (command.ifExists) return;
    throw new SqlError("USER_MISSING", ["drop", command.name]);
  }
  const owned = name.toLowerCase() === "master"
    && session.instance.catalog.certificates().some((cert) => cert.ownerUser?.toLowerCase() === user.name.toLowerCase());
  if (owned) throw new SqlError("USER_OWNS_CERTIFICATE");
  await deleteUser(db, user.name);
  await afterUserChange(session, id);
}

/** The cache is refreshed at once: the endpoint authorizes peers from master's users. */
async function afterUserChange(session: TsqlSession, id: number): Promise<void> {
  session.instance.principals.forget(id);
  if (id === 1) await session.instance.mirroringEndpoint.loadMasterUsers();
}

function currentDatabase(session: TsqlSession) {
  const target = session.instance.database(session.databaseName);
  if (target === null) throw new SqlError("DATABASE_DOES_NOT_EXIST", [session.databaseName]);
  return { id: target.entry.id, db: target.db, name: target.entry.name };
}

/** Master keys and certificates are kept in master, where mirroring looks for them. */
function requireMaster(session: TsqlSession, statement: string): void {
  if (session.databaseName.toLowerCase() !== "master") {
    throw new SqlError("UNSUPPORTED_KEYWORD", [`${statement} outside master (run USE master first)`]);
  }
}

export async function createMasterKeyCommand(session: TsqlSession, command: Command<"createMasterKey">): Promise<void> {
  requireSysadmin(session);
  requireMaster(session, "CREATE MASTER KEY");
  const catalog = session.instance.catalog;
  if (catalog.masterKey() !== null) throw new SqlError("MASTER_KEY_EXISTS");
  if (command.password === null) {
    throw new SqlError("UNSUPPORTED_KEYWORD", ["CREATE MASTER KEY without ENCRYPTION BY PASSWORD"]);
  }
  if (passwordPolicyProblem(command.password, "") !== null) throw new SqlError("PASSWORD_POLICY");
  catalog.setMasterKey(await createMasterKey(command.password, serviceMasterKey(session.instance.engine.dataDir), new Date()));
}

export function dropMasterKey(session: TsqlSession): void {
  requireSysadmin(session);
  requireMaster(session, "DROP MASTER KEY");
  const catalog = session.instance.catalog;
  if (catalog.masterKey() === null) throw new SqlError("MASTER_KEY_MISSING");
  const sealed = catalog.certificates().find((cert) => cert.privateKey?.encryptionType === "MK");
  if (sealed !== undefined) throw new SqlError("MASTER_KEY_IN_USE", [sealed.name]);
  catalog.setMasterKey(null);
}

/** The database master key, opened with the service master key; 15581 when there is none. */
export function databaseMasterKey(session: { instance: TsqlSession["instance"] }): Buffer {
  const entry = session.instance.catalog.masterKey();
  if (entry === null) throw new SqlError("MASTER_KEY_MISSING");
  return openMasterKey(entry, serviceMasterKey(session.instance.engine.dataDir));
}

export async function createCertificate(session: TsqlSession, command: Command<"createCertificate">): Promise<void> {
  requireSysadmin(session);
  requireMaster(session, "CREATE CERTIFICATE");
  const catalog = session.instance.catalog;
  if (catalog.certificate(command.name) !== undefined) throw new SqlError("CERTIFICATE_EXISTS", [command.name]);
  if (command.owner !== null) await requireUser(session, command.owner);
  const entry = command.fromFile === null ? await generatedCertificate(session, command)
    : await certificateFromFile(session, command);
  if (catalog.certificates().some((other) => other.thumbprint === entry.thumbprint)) {
    throw new SqlError("CERTIFICATE_EXISTS", [command.name]);
  }
  catalog.addCertificate(entry);
}

async function requireUser(session: TsqlSession, name: string): Promise<void> {
  const { id, db } = currentDatabase(session);
  const users = await session.instance.principals.load(id, db);
  if (!users.some((user) => user.name.toLowerCase() === name.toLowerCase())) {
    throw new SqlError("USER_MISSING", ["find", name]);
  }
}

async function generatedCertificate(session: TsqlSession, command: Command<"createCertificate">): Promise<CertificateEntry> {
  const start = command.startDate === null ? new Date() : parseCertificateDate(command.startDate);
  const expiry = command.expiryDate === null ? new Date(start.getTime() + 365 * 86_400_000)
    : parseCertificateDate(command.expiryDate);
  if (expiry.getTime() <= start.getTime()) {
    throw new SqlError("CERTIFICATE_DATE_INVALID", ["the expiry date is not after the start date"]);
  }
  const dmk = command.encryptionPassword === null ? databaseMasterKey(session) : null;
  const { publicKey, privateKey } = await generateRsa("rsa", { modulusLength: 2048 });
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const der = buildSelfSignedCertificate({
    subjectCommonName: command.subject ?? command.name, notBefore: start, notAfter: expiry,
    serialNumber: serial, publicKey: publicKey.export({ type: "spki", format: "der" }),
    sign: (tbs) => sign("sha256", tbs, privateKey),
  });
  const sealed = dmk === null ? await sealPrivateKeyWithPassword(privateKey, command.encryptionPassword!)
    : sealPrivateKey(privateKey, dmk);
  return certificateEntry(session, command, der, sealed);
}

async function certificateFromFile(session: TsqlSession, command: Command<"createCertificate">): Promise<CertificateEntry> {
  const file = resolvePath(session, command.fromFile!);
  const der = readCertificateFile(file);
  if (command.privateKey === null) return certificateEntry(session, command, der, null);
  const keyFile = resolvePath(session, command.privateKey.file);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: fs.readFileSync(keyFile), passphrase: command.privateKey.decryptionPassword ?? "" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new SqlError("CERTIFICATE_FILE_OPEN", [keyFile]);
    throw new SqlError("PRIVATE_KEY_PASSWORD");
  }
  const cert = new X509Certificate(der);
  if (!cert.checkPrivateKey(key)) {
    throw new SqlError("CERTIFICATE_DATE_INVALID", ["the private key does not match the certificate"]);
  }
  const sealed = command.privateKey.encryptionPassword !== null
    ? await sealPrivateKeyWithPassword(key, command.privateKey.encryptionPassword)
    : sealPrivateKey(key, databaseMasterKey(session));
  return certificateEntry(session, command, der, sealed);
}

/** A DER or PEM X.509 certificate with an RSA key. */
function readCertificateFile(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new SqlError("CERTIFICATE_FILE_OPEN", [file]);
  }
  try {
    const cert = new X509Certificate(bytes);
    if (cert.publicKey.asymmetricKeyType !== "rsa") throw new Error("not RSA");
    return Buffer.from(cert.raw);
  } catch {
    throw new SqlError("CERTIFICATE_FILE_INVALID", [file]);
  }
}

function certificateEntry(session: TsqlSession, command: Command<"createCertificate">, der: Buffer,
  sealed: CertificateEntry["privateKey"]): CertificateEntry {
  const cert = new X509Certificate(der);
  return {
    id: session.instance.catalog.nextPrincipalId(), name: command.name, ownerUser: command.owner,
    subject: cert.subject.replace(/^CN=/, ""), serialHex: cert.serialNumber,
    startDate: new Date(cert.validFrom).toISOString(), expiryDate: new Date(cert.validTo).toISOString(),
    thumbprint: createHash("sha1").update(der).digest("hex").toUpperCase(),
    certificateDer: der.toString("base64"), privateKey: sealed, createDate: new Date().toISOString(),
  };
}

/** START_DATE / EXPIRY_DATE: 'MM/DD/YYYY' or ISO 'YYYY-MM-DD[ hh:mm[:ss]]', in UTC. */
export function parseCertificateDate(text: string): Date {
  const us = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/.exec(text);
  const iso = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/.exec(text);
  const parts = us !== null ? [us[3], us[1], us[2], us[4], us[5], us[6]] : iso !== null
    ? [iso[1], iso[2], iso[3], iso[4], iso[5], iso[6]] : null;
  if (parts === null) throw new SqlError("CERTIFICATE_DATE_INVALID", [`'${text}' is not a date`]);
  const [y, mo, d, h, mi, s] = parts.map((part) => Number(part ?? 0));
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== d) {
    throw new SqlError("CERTIFICATE_DATE_INVALID", [`'${text}' is not a date`]);
  }
  return date;
}

/** A bare file name goes to the instance's data directory, as SQL Server's default data folder. */
function resolvePath(session: TsqlSession, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(session.instance.engine.dataDir, file);
}

export async function dropCertificate(session: TsqlSession, command: Command<"dropCertificate">): Promise<void> {
  requireSysadmin(session);
  requireMaster(session, "DROP CERTIFICATE");
  const catalog = session.instance.catalog;
  const cert = catalog.certificate(command.name);
  if (cert === undefined) throw new SqlError("CERTIFICATE_MISSING", [command.name]);
  const endpoint = catalog.endpoints().find((entry) => entry.certificate.toLowerCase() === cert.name.toLowerCase());
  const login = catalog.logins().find((entry) => entry.certificate?.toLowerCase() === cert.name.toLowerCase());
  if (endpoint !== undefined || login !== undefined) {
    throw new SqlError("CERTIFICATE_IN_USE", [cert.name, endpoint?.name ?? "", login?.name ?? ""]);
  }
  catalog.removeCertificate(cert.name);
}

/** BACKUP CERTIFICATE: the public certificate as DER; the private key only to sysadmin, encrypted. */
export async function backupCertificate(session: TsqlSession, command: Command<"backupCertificate">): Promise<void> {
  requireSysadmin(session);
  const cert = session.instance.catalog.certificate(command.name);
  if (cert === undefined) throw new SqlError("CERTIFICATE_MISSING", [command.name]);
  const file = resolvePath(session, command.file);
  writeNewFile(file, Buffer.from(cert.certificateDer, "base64"));
  if (command.privateKey === null) return;
  if (cert.privateKey === null) throw new SqlError("CERTIFICATE_NO_PRIVATE_KEY", [cert.name]);
  const key = openPrivateKey(cert.privateKey, databaseMasterKey(session));
  if (key === null) throw new SqlError("PRIVATE_KEY_PASSWORD");
  const pem = key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc",
    passphrase: command.privateKey.encryptionPassword });
  writeNewFile(resolvePath(session, command.privateKey.file), Buffer.from(pem));
}

function writeNewFile(file: string, bytes: Buffer): void {
  try {
    fs.writeFileSync(file, bytes, { flag: "wx", mode: 0o600 });
  } catch {
    throw new SqlError("CERTIFICATE_WRITE_FAILED", [file]);
  }
}
