// The instance's master catalog: its identity (instance GUID, server name), SQL logins and the
// database directory (names ↔ database_id). Small, so it lives in one JSON document replaced
// atomically (write, fsync, rename, fsync the directory): a crash leaves the old or the new
// catalog, never half of one.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileDurably } from "../storage/durable_file.js";
import type { MasterKeyEntry, SealedPrivateKey } from "../security/keys.js";
import { hashPassword, passwordPolicyProblem } from "../security/password.js";

export const CATALOG_FORMAT_VERSION = 1;
/** SQL Server's fixed ids: master 1, tempdb 2, model 3, msdb 4; user databases start at 5. */
export const MASTER_DATABASE_ID = 1;
const FIRST_USER_DATABASE_ID = 5;

export interface LoginEntry {
  readonly name: string;
  /** Hex; SQL Server's sa has SID 0x01. */
  readonly sid: string;
  readonly passwordHash: string;
  readonly defaultDatabase: string;
  readonly sysadmin: boolean;
  readonly disabled: boolean;
  readonly createDate: string;
  /** sys.server_principals.principal_id (sa is 1; others from 256). */
  readonly principalId?: number;
  /** "S" SQL_LOGIN, "C" CERTIFICATE_MAPPED_LOGIN (FROM CERTIFICATE: cannot log in over TDS). */
  readonly type?: "S" | "C";
  readonly certificate?: string;
  readonly checkPolicy?: boolean;
  readonly checkExpiration?: boolean;
  readonly modifyDate?: string;
}

/** A certificate in master (sys.certificates). The private key is sealed, never in clear. */
export interface CertificateEntry {
  readonly id: number;
  readonly name: string;
  /** The owner: a user of master (AUTHORIZATION user), null for dbo. */
  readonly ownerUser: string | null;
  readonly subject: string;
  readonly serialHex: string;
  readonly startDate: string;
  readonly expiryDate: string;
  /** SHA-1 of the DER, hex (sys.certificates.thumbprint). */
  readonly thumbprint: string;
  readonly certificateDer: string;
  readonly privateKey: SealedPrivateKey | null;
  readonly createDate: string;
}

export type EndpointState = "STARTED" | "STOPPED" | "DISABLED";

/** The DATABASE_MIRRORING endpoint (sys.endpoints, sys.tcp_endpoints, …). */
export interface EndpointEntry {
  readonly id: number;
  readonly name: string;
  readonly ownerSid: string;
  readonly state: EndpointState;
  readonly port: number;
  readonly listenerIp: string | null;
  readonly role: "PARTNER" | "WITNESS" | "ALL";
  readonly certificate: string;
  readonly encryption: "DISABLED" | "SUPPORTED" | "REQUIRED";
  readonly algorithms: readonly ("AES" | "RC4")[];
  readonly createDate: string;
}

/** GRANT / DENY on an endpoint (sys.server_permissions). REVOKE removes the row. */
export interface EndpointPermission {
  readonly endpointId: number;
  readonly granteeSid: string;
  readonly grantorSid: string;
  readonly permission: string;
  readonly state: "G" | "D";
}

export interface DatabaseEntry {
  readonly id: number;
  readonly name: string;
  readonly createDate: string;
}

interface CatalogDocument {
  readonly formatVersion: number;
  readonly instanceGuid: string;
  readonly serverName: string;
  readonly createDate: string;
  readonly logins: LoginEntry[];
  readonly databases: DatabaseEntry[];
  readonly nextDatabaseId: number;
  readonly masterKey?: MasterKeyEntry | null;
  readonly certificates?: CertificateEntry[];
  readonly endpoints?: EndpointEntry[];
  readonly endpointPermissions?: EndpointPermission[];
  readonly nextPrincipalId?: number;
}

/** The catalog file is unreadable or from a newer version: an operating error with a hint. */
export class CatalogError extends Error {
  override readonly name = "CatalogError";
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** MSSQL_SA_PASSWORD / --sa-password is missing or does not meet the policy. */
export class SaPasswordError extends Error {
  override readonly name = "SaPasswordError";
}

export class MasterCatalog {
  private constructor(private readonly file: string, private document: CatalogDocument) {}

  static exists(dataDir: string): boolean {
    return fs.existsSync(path.join(dataDir, "catalog.json"));
  }

  /** First start: a new identity and the sa login. The password must meet SQL Server's policy. */
  static async initialise(dataDir: string, serverName: string, saPassword: string | undefined,
    now: Date): Promise<MasterCatalog> {
    if (saPassword === undefined || saPassword === "") {
      throw new SaPasswordError("the first start of an instance needs the sa password: set "
        + "MSSQL_SA_PASSWORD or pass --sa-password");
    }
    const problem = passwordPolicyProblem(saPassword, "sa");
    if (problem !== null) throw new SaPasswordError(`the sa password was refused: ${problem}`);
    const created = now.toISOString();
    const document: CatalogDocument = {
      formatVersion: CATALOG_FORMAT_VERSION,
      instanceGuid: crypto.randomUUID().toUpperCase(),
      serverName,
      createDate: created,
      logins: [{
        name: "sa", sid: "01", passwordHash: await hashPassword(saPassword), defaultDatabase: "master",
        sysadmin: true, disabled: false, createDate: created,
      }],
      databases: [{ id: MASTER_DATABASE_ID, name: "master", createDate: created }],
      nextDatabaseId: FIRST_USER_DATABASE_ID,
    };
    const catalog = new MasterCatalog(path.join(dataDir, "catalog.json"), document);
    catalog.save();
    return catalog;
  }

  static load(dataDir: string): MasterCatalog {
    const file = path.join(dataDir, "catalog.json");
    let document: CatalogDocument;
    try {
      document = JSON.parse(fs.readFileSync(file, "utf8")) as CatalogDocument;
    } catch (error) {
      throw new CatalogError(`cannot read ${file}: ${(error as Error).message}`,
        "the master catalog is damaged; restore the data directory from a copy");
    }
    if (document.formatVersion !== CATALOG_FORMAT_VERSION) {
      throw new CatalogError(`${file} has format version ${document.formatVersion}`,
        `this build reads version ${CATALOG_FORMAT_VERSION}; run the mirrorlite that wrote it`);
    }
    return new MasterCatalog(file, document);
  }

  get instanceGuid(): string { return this.document.instanceGuid; }
  get serverName(): string { return this.document.serverName; }

  logins(): readonly LoginEntry[] {
    return this.document.logins;
  }

  loginBySid(sidHex: string): LoginEntry | undefined {
    return this.document.logins.find((login) => login.sid.toLowerCase() === sidHex.toLowerCase());
  }

  /** principal_id for a new login, certificate or endpoint (SQL Server starts user ones at 256). */
  nextPrincipalId(): number {
    const id = this.document.nextPrincipalId ?? 256;
    this.document = { ...this.document, nextPrincipalId: id + 1 };
    return id;
  }

  addLogin(entry: LoginEntry): void {
    this.mutate({ logins: [...this.document.logins, entry] });
  }

  replaceLogin(name: string, entry: LoginEntry): void {
    const key = name.toLowerCase();
    this.mutate({ logins: this.document.logins.map((login) => login.name.toLowerCase() === key ? entry : login) });
  }

  removeLogin(name: string): void {
    const key = name.toLowerCase();
    const sid = this.login(name)?.sid;
    this.mutate({ logins: this.document.logins.filter((login) => login.name.toLowerCase() !== key),
      endpointPermissions: this.endpointPermissions().filter((grant) => grant.granteeSid !== sid) });
  }

  masterKey(): MasterKeyEntry | null {
    return this.document.masterKey ?? null;
  }

  setMasterKey(entry: MasterKeyEntry | null): void {
    this.mutate({ masterKey: entry });
  }

  certificates(): readonly CertificateEntry[] {
    return this.document.certificates ?? [];
  }

  certificate(name: string): CertificateEntry | undefined {
    const key = name.toLowerCase();
    return this.certificates().find((entry) => entry.name.toLowerCase() === key);
  }

  addCertificate(entry: CertificateEntry): void {
    this.mutate({ certificates: [...this.certificates(), entry] });
  }

  removeCertificate(name: string): void {
    const key = name.toLowerCase();
    this.mutate({ certificates: this.certificates().filter((entry) => entry.name.toLowerCase() !== key) });
  }

  endpoints(): readonly EndpointEntry[] {
    return this.document.endpoints ?? [];
  }

  endpoint(name: string): EndpointEntry | undefined {
    const key = name.toLowerCase();
    return this.endpoints().find((entry) => entry.name.toLowerCase() === key);
  }

  putEndpoint(entry: EndpointEntry): void {
    this.mutate({ endpoints: [...this.endpoints().filter((other) => other.id !== entry.id), entry] });
  }

  removeEndpoint(id: number): void {
    this.mutate({ endpoints: this.endpoints().filter((entry) => entry.id !== id),
      endpointPermissions: this.endpointPermissions().filter((grant) => grant.endpointId !== id) });
  }

  endpointPermissions(): readonly EndpointPermission[] {
    return this.document.endpointPermissions ?? [];
  }

  /** GRANT / DENY replace the grantee's row for that permission; REVOKE (null) removes it. */
  setEndpointPermission(endpointId: number, granteeSid: string, permission: string,
    grant: { state: "G" | "D"; grantorSid: string } | null): void {
    const others = this.endpointPermissions().filter((row) => !(row.endpointId === endpointId
      && row.granteeSid === granteeSid && row.permission === permission));
    this.mutate({ endpointPermissions: grant === null ? others
      : [...others, { endpointId, granteeSid, permission, ...grant }] });
  }

  private mutate(patch: Partial<CatalogDocument>): void {
    this.document = { ...this.document, ...patch };
    this.save();
  }

  login(name: string): LoginEntry | undefined {
    const key = name.toLowerCase();
    return this.document.logins.find((login) => login.name.toLowerCase() === key);
  }

  /** Case-insensitive, as SQL Server's default collation compares names. */
  database(name: string): DatabaseEntry | undefined {
    const key = name.toLowerCase();
    return this.document.databases.find((db) => db.name.toLowerCase() === key);
  }

  databaseById(id: number): DatabaseEntry | undefined {
    return this.document.databases.find((db) => db.id === id);
  }

  databases(): readonly DatabaseEntry[] {
    return this.document.databases;
  }

  addDatabase(name: string, now: Date): DatabaseEntry {
    const entry = { id: this.document.nextDatabaseId, name, createDate: now.toISOString() };
    this.document = {
      ...this.document,
      databases: [...this.document.databases, entry],
      nextDatabaseId: entry.id + 1,
    };
    this.save();
    return entry;
  }

  removeDatabase(id: number): void {
    this.document = {
      ...this.document,
      databases: this.document.databases.filter((db) => db.id !== id),
    };
    this.save();
  }

  private save(): void {
    writeFileDurably(path.dirname(this.file), path.basename(this.file), `${JSON.stringify(this.document, null, 2)}\n`);
  }
}
