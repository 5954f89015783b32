// The instance's master catalog: its identity (instance GUID, server name), SQL logins and the
// database directory (names ↔ database_id). Small, so it lives in one JSON document replaced
// atomically (write, fsync, rename, fsync the directory): a crash leaves the old or the new
// catalog, never half of one.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDirectory } from "../log/runtime/log_writer.js";
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
    const temp = `${this.file}.tmp`;
    const fd = fs.openSync(temp, "w");
    try {
      fs.writeSync(fd, `${JSON.stringify(this.document, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.file);
    fsyncDirectory(path.dirname(this.file));
  }
}
