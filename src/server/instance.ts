// An instance: one data directory, its master catalog, its databases (opened, so recovered, at
// start) and the TDS listener. Sessions reach databases only through here.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { BackupHistory } from "../backup/history.js";
import { MirroringEndpointService } from "./endpoint_service.js";
import { MirroringService } from "./mirroring_service.js";
import { PrincipalCache } from "./principals.js";
import { MasterCatalog, MASTER_DATABASE_ID, type DatabaseEntry, type LoginEntry } from "../catalog/master.js";
import { SqlError } from "../errors/sql_error.js";
import { PasswordVerifier } from "../security/password.js";
import { generatedCredentials, readConfiguredCredentials, type ConfiguredCertificate,
  type ServerCredentials } from "../security/server_certificate.js";
import { readControl, writeControl, type ControlState } from "../storage/control_file.js";
import type { MirrorliteDatabase } from "../storage/database.js";
import { fsyncDirectory } from "../log/runtime/log_writer.js";
import { StorageEngine } from "../storage/engine.js";
import { TdsConnection } from "./connection.js";
import { createTlsSettings, type TlsSettings } from "./tds_socket.js";

export const PRODUCT_VERSION: [number, number, number, number] = [16, 0, 1000, 6];
export const PRODUCT_NAME = "mirrorlite";
const VERSION_TEXT = "mirrorlite 0.1.0 (SQL Server 16.0.1000.6 compatible, TDS 7.4) on Linux";
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_@#$-]{0,127}$/;

export interface InstanceOptions {
  readonly dataDir: string;
  readonly name: string;
  readonly port: number;
  readonly listen: string;
  readonly saPassword: string | undefined;
  readonly readerThreads?: number;
  readonly durabilityTestMode?: boolean;
  /** Unauthenticated connections are dropped after this long (a half-sent login holds nothing). */
  readonly loginTimeoutMs?: number;
  /** PEM certificate and key for TLS; without them a self-signed pair in the data directory. */
  readonly tlsCertificate?: ConfiguredCertificate | undefined;
  /** Refuse clients that do not encrypt (PRELOGIN answers REQ). */
  readonly forceEncryption?: boolean;
  /** A login naming a mirror database is routed to its principal (ENVCHANGE 20) instead of 4060. */
  readonly routeMirrorLogins?: boolean;
}

export class Instance {
  readonly versionText = VERSION_TEXT;
  readonly passwords = new PasswordVerifier();
  /** SERVERPROPERTY() values that tools ask for; anything else is NULL, as SQL Server does. */
  readonly serverProperties: ReadonlyMap<string, string | number>;
  private readonly openDatabases = new Map<number, MirrorliteDatabase>();
  /** Databases in the middle of a restore: on disk, never opened by SQLite until recovered. */
  private readonly restoringDatabases = new Map<number, ControlState>();
  private readonly users = new Map<number, number>();
  private readonly connections = new Set<TdsConnection>();
  private server: net.Server | null = null;
  private nextSpidNumber = 51;
  private stopping = false;


  /** TLS for every TDS connection: secure contexts and whether encryption is forced. */
  readonly tls: TlsSettings;

  /** The DATABASE_MIRRORING endpoint's listener and checks. */
  readonly mirroringEndpoint = new MirroringEndpointService(this);
  /** Database mirroring sessions, one per mirrored database. */
  readonly mirroring = new MirroringService(this);
  /** The TDS port actually bound (known after listen()). */
  private boundPort: number | null = null;
  /** Database users, read from each database and cached (src/server/principals.ts). */
  readonly principals = new PrincipalCache();
  /** msdb's backup and restore history. */
  readonly backupHistory: BackupHistory;

  private constructor(readonly options: InstanceOptions, readonly engine: StorageEngine,
    readonly catalog: MasterCatalog, readonly tlsCredentials: ServerCredentials) {
    this.backupHistory = BackupHistory.open(engine.dataDir);
    this.tls = createTlsSettings(tlsCredentials.certPem, tlsCredentials.keyPem,
      options.forceEncryption ?? false);
    this.serverProperties = new Map<string, string | number>([
      ["PRODUCTVERSION", PRODUCT_VERSION.join(".")], ["PRODUCTMAJORVERSION", PRODUCT_VERSION[0]],
      ["PRODUCTMINORVERSION", PRODUCT_VERSION[1]], ["PRODUCTBUILD", PRODUCT_VERSION[2]],
      ["PRODUCTLEVEL", "RTM"], ["EDITION", "Developer Edition (64-bit)"], ["ENGINEEDITION", 3],
      ["EDITIONID", 1_872_460_670], ["SERVERNAME", catalog.serverName], ["MACHINENAME", catalog.serverName],
      ["COLLATION", "SQL_Latin1_General_CP1_CI_AS"],
      ["ISCLUSTERED", 0], ["ISHADRENABLED", 0], ["ISINTEGRATEDSECURITYONLY", 0],
      ["ISFULLTEXTINSTALLED", 0], ["ISSINGLEUSER", 0], ["PROCESSID", process.pid],
      ["SQLCHARSETNAME", "iso_1"], ["SQLSORTORDERNAME", "nocase_iso"],
    ]);
  }

  /** Opens (or on first start initialises) the data directory and recovers every database. */
  static async open(options: InstanceOptions, now: Date): Promise<Instance> {
    // A configured certificate is checked first: a typo must not leave a new data directory.
    const configured = options.tlsCertificate === undefined ? null
      : readConfiguredCredentials(options.tlsCertificate, now);
    fs.mkdirSync(options.dataDir, { recursive: true });
    const engine = StorageEngine.open({
      dataDir: options.dataDir, readerThreads: options.readerThreads ?? 4, safeIntegers: true,
      durabilityTestMode: options.durabilityTestMode ?? false,
    });
    try {
      const catalog = MasterCatalog.exists(engine.dataDir)
        ? MasterCatalog.load(engine.dataDir)
        : await MasterCatalog.initialise(engine.dataDir, options.name, options.saPassword, now);
      const credentials = configured ?? await generatedCredentials(engine.dataDir, catalog.serverName, now);
      const instance = new Instance(options, engine, catalog, credentials);
      await instance.reconcile(now);
      await instance.mirroringEndpoint.start();
      instance.mirroring.start();
      return instance;
    } catch (error) {
      await engine.close();
      throw error;
    }
  }

  get serverName(): string { return this.catalog.serverName; }
  get stoppingNow(): boolean { return this.stopping; }

  /** Starts accepting TDS connections; resolves with the bound port. */
  listen(): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.listen, () => {
        server.off("error", reject);
        this.boundPort = (server.address() as net.AddressInfo).port;
        resolve(this.boundPort);
      });
    });
  }

  /** host:port where clients reach this instance (sent to the partner for ENVCHANGE 13). */
  get tdsAddress(): string {
    const host = ["0.0.0.0", "::", ""].includes(this.options.listen) ? this.catalog.serverName : this.options.listen;
    return `${host.includes(":") ? `[${host}]` : host}:${this.boundPort ?? this.options.port}`;
  }

  /** A mirroring role change: every session using the database ends (its work rolled back). */
  async disconnectDatabaseUsers(name: string): Promise<void> {
    const entry = this.catalog.database(name);
    if (entry === undefined) return;
    const users = [...this.connections].filter((connection) => connection.databaseId === entry.id);
    await Promise.all(users.map((connection) => connection.kill(`database '${entry.name}' changed mirroring role`)));
  }

  /** Principal → mirror: closed under the write lock the caller holds; returns its control state. */
  async closeForMirroring(entry: DatabaseEntry, lockOwner: object): Promise<ControlState> {
    const db = this.openDatabases.get(entry.id);
    // Shown RESTORING from now on (the caller records the final control state once closed).
    if (db !== undefined) this.restoringDatabases.set(entry.id, { ...db.controlState, state: "RESTORING" });
    this.openDatabases.delete(entry.id);
    await this.engine.closeDatabase(entry.name, lockOwner);
    return readControl(this.engine.databaseDir(entry.name));
  }

  nextSpid(): number {
    const spid = this.nextSpidNumber;
    this.nextSpidNumber = spid >= 32_000 ? 51 : spid + 1;
    return spid;
  }

  database(name: string): { entry: DatabaseEntry; db: MirrorliteDatabase } | null {
    const entry = this.catalog.database(name);
    const db = entry === undefined ? undefined : this.openDatabases.get(entry.id);
    return entry === undefined || db === undefined ? null : { entry, db };
  }

  /** The control state of a RESTORING database, null when it is not restoring. */
  restoringControl(id: number): ControlState | null {
    return this.restoringDatabases.get(id) ?? null;
  }

  /**
   * May this login use the database? sysadmin always; others in master (as guest) and in
   * databases where a user carries their SID.
   */
  async canAccess(login: LoginEntry, databaseId: number): Promise<boolean> {
    if (login.sysadmin || databaseId === MASTER_DATABASE_ID) return true;
    const db = this.openDatabases.get(databaseId);
    if (db === undefined) return false;
    const users = await this.principals.load(databaseId, db);
    return users.some((user) => user.sid !== null && user.sid.toLowerCase() === login.sid.toLowerCase());
  }

  /** Is a session logged in as this login (DROP LOGIN 15434)? */
  loggedIn(loginName: string): boolean {
    const key = loginName.toLowerCase();
    return [...this.connections].some((connection) => connection.loginName?.toLowerCase() === key);
  }

  /** Sessions using the database (DROP DATABASE 3702, RESTORE 3101). */
  databaseUsers(id: number): number {
    return this.users.get(id) ?? 0;
  }

  /** Where relative backup paths go (SQL Server's default backup directory). */
  get backupDirectory(): string {
    return path.join(this.engine.dataDir, "backup");
  }

  /**
   * Swaps a restored directory in for `name` (closing and removing the database it replaces)
   * and marks it RESTORING. The old files are renamed away first, so a crash leaves one or the
   * other, never a mix.
   */
  async installRestored(name: string, restoredDir: string, control: ControlState, now: Date): Promise<DatabaseEntry> {
    const dir = this.engine.databaseDir(name);
    const existing = this.catalog.database(name);
    if (existing !== undefined) {
      this.openDatabases.delete(existing.id);
      await this.engine.closeDatabase(existing.name);
    }
    const doomed = `${dir}.replaced`;
    if (fs.existsSync(dir)) fs.renameSync(dir, doomed);
    fs.renameSync(restoredDir, dir);
    fsyncDirectory(path.dirname(dir));
    fs.rmSync(doomed, { recursive: true, force: true });
    const entry = existing ?? this.catalog.addDatabase(name, now);
    this.restoringDatabases.set(entry.id, control);
    return entry;
  }

  /** A RESTORING database moved forward (its control file is already written). */
  noteRestoring(id: number, control: ControlState): void {
    this.restoringDatabases.set(id, control);
  }

  /** RESTORE … WITH RECOVERY finished: open the database (its startup recovery runs). */
  async bringOnline(entry: DatabaseEntry): Promise<void> {
    this.principals.forget(entry.id);
    // RESTORING until it is open: the database never drops out of sys.databases in between.
    this.openDatabases.set(entry.id, await this.engine.openDatabase(entry.name));
    this.restoringDatabases.delete(entry.id);
  }

  /** A tail-log backup WITH NORECOVERY: close the database and leave it RESTORING. */
  async takeOffline(entry: DatabaseEntry, control: ControlState): Promise<void> {
    this.restoringDatabases.set(entry.id, control);
    this.openDatabases.delete(entry.id);
    await this.engine.closeDatabase(entry.name);
    writeControl(this.engine.databaseDir(entry.name), control);
    this.restoringDatabases.set(entry.id, control);
  }

  /** Sessions announce which database they use, so DROP DATABASE can refuse (3702). */
  enterDatabase(id: number): void { this.users.set(id, (this.users.get(id) ?? 0) + 1); }
  leaveDatabase(id: number): void { this.users.set(id, (this.users.get(id) ?? 1) - 1); }

  async createDatabase(name: string, now: Date): Promise<DatabaseEntry> {
    if (!DATABASE_NAME.test(name)) throw new SqlError("DATABASE_NAME_INVALID", [name]);
    if (this.catalog.database(name) !== undefined) throw new SqlError("DATABASE_ALREADY_EXISTS", [name]);
    const db = await this.engine.createDatabase(name, "FULL");
    const entry = this.catalog.addDatabase(name, now);
    this.openDatabases.set(entry.id, db);
    return entry;
  }

  async dropDatabase(name: string): Promise<void> {
    const entry = this.catalog.database(name);
    if (entry === undefined) throw new SqlError("DROP_DATABASE_MISSING", [name]);
    if (entry.id === MASTER_DATABASE_ID) throw new SqlError("DROP_SYSTEM_DATABASE", [entry.name]);
    if (this.mirroring.isMirrored(entry.name)) throw new SqlError("DBM_DROP_MIRRORED", [entry.name]);
    if ((this.users.get(entry.id) ?? 0) > 0) throw new SqlError("DROP_DATABASE_IN_USE", [entry.name]);
    this.openDatabases.delete(entry.id);
    this.restoringDatabases.delete(entry.id);
    this.catalog.removeDatabase(entry.id);
    await this.engine.dropDatabase(entry.name);
  }

  /** Clean shutdown: no new connections, open transactions rolled back, databases checkpointed. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const closed = this.server === null ? Promise.resolve()
      : new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await Promise.all([...this.connections].map((connection) => connection.shutdown()));
    await closed;
    await this.mirroring.stop();
    await this.mirroringEndpoint.stop();
    this.openDatabases.clear();
    await this.engine.close();
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection = new TdsConnection(this, socket, this.options.loginTimeoutMs ?? 60_000);
    this.connections.add(connection);
    socket.once("close", () => this.connections.delete(connection));
  }

  /**
   * The catalog is written after a database's directory, so a crash between them leaves a
   * directory the catalog does not know: adopt it. A catalog entry without files is dropped.
   * Then every database is opened, which runs its crash recovery.
   */
  private async reconcile(now: Date): Promise<void> {
    const names = this.engine.listDatabases();
    if (!names.some((name) => name.toLowerCase() === "master")) {
      await this.engine.createDatabase("master", "SIMPLE");
      names.push("master");
    }
    const onDisk = new Set(names.map((name) => name.toLowerCase()));
    for (const entry of [...this.catalog.databases()]) {
      if (!onDisk.has(entry.name.toLowerCase())) this.catalog.removeDatabase(entry.id);
    }
    for (const name of names) {
      if (this.catalog.database(name) === undefined) this.catalog.addDatabase(name, now);
    }
    for (const entry of this.catalog.databases()) {
      const control = readControl(this.engine.databaseDir(entry.name));
      if (control.state === "RESTORING") this.restoringDatabases.set(entry.id, control);
      else this.openDatabases.set(entry.id, await this.engine.openDatabase(entry.name));
    }
  }
}
