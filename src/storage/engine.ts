// The storage engine of one instance: owns its data directory (an exclusive lock that dies
// with the process), the reader threads, the control connection used to interrupt statements
// on any thread, and the open databases.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDirectory } from "../log/runtime/log_writer.js";
import { SEGMENT_BYTES_MIN } from "../log/segment.js";
import { assert } from "../util/assert.js";
import type { RecoveryModel } from "./control_file.js";
import { MirrorliteDatabase, type DatabaseOptions, type EngineServices } from "./database.js";
import { loadGuard } from "./guard.js";
import { ReaderPool } from "./reader_pool.js";

export interface EngineOptions {
  readonly dataDir: string;
  readonly readerThreads?: number;
  readonly segmentBytes?: number;
  readonly checkpointEveryBytes?: number;
  readonly cacheSizePages?: number;
  readonly safeIntegers?: boolean;
  readonly durabilityTestMode?: boolean;
  /** What to do when the log or a writer fails; the default ends the process (see fatalExit). */
  readonly onFatal?: (error: Error) => void;
}

/** The data directory is held by another live process (or another engine in this one). */
export class DataDirectoryInUseError extends Error {
  override readonly name = "DataDirectoryInUseError";
  readonly hint = "Stop the other mirrorlite instance that uses this directory, or pick another --data.";
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_@#$-]{0,127}$/;

export class StorageEngine {
  private readonly databases = new Map<string, MirrorliteDatabase>();
  private nextJobNumber = 1;
  private readonly interruptStatement: Database.Statement;
  private readonly services: EngineServices;
  private readonly databaseOptions: DatabaseOptions;

  private constructor(readonly dataDir: string, private readonly control: Database.Database,
    private readonly readers: ReaderPool, options: EngineOptions) {
    this.interruptStatement = control.prepare("SELECT guard_interrupt(0, ?)");
    this.services = {
      readers,
      nextJob: () => this.nextJobNumber++,
      interrupt: (job) => { this.interruptStatement.get(job); },
    };
    const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    assert(segmentBytes >= SEGMENT_BYTES_MIN, `segmentBytes below ${SEGMENT_BYTES_MIN}`);
    this.databaseOptions = {
      segmentBytes,
      checkpointEveryBytes: options.checkpointEveryBytes ?? 256 * 1024 * 1024,
      cacheSizePages: options.cacheSizePages ?? 0,
      safeIntegers: options.safeIntegers ?? false,
      durabilityTestMode: options.durabilityTestMode ?? false,
      onFatal: options.onFatal ?? fatalExit,
    };
  }

  static open(options: EngineOptions): StorageEngine {
    const dataDir = path.resolve(options.dataDir);
    fs.mkdirSync(path.join(dataDir, "databases"), { recursive: true });
    const control = new Database(":memory:");
    loadGuard(control);
    const lockPath = path.join(dataDir, ".lock");
    const locked = control.prepare("SELECT guard_lock_dir(?) AS locked").get(lockPath) as { locked: number };
    if (locked.locked !== 1) {
      control.close();
      throw new DataDirectoryInUseError(`data directory ${dataDir} is in use by another process`);
    }
    const readers = new ReaderPool(options.readerThreads ?? 2, options.safeIntegers ?? false,
      options.onFatal ?? fatalExit);
    return new StorageEngine(dataDir, control, readers, options);
  }

  databaseDir(name: string): string {
    if (!DATABASE_NAME.test(name)) throw new Error(`invalid database name '${name}'`);
    return path.join(this.dataDir, "databases", name);
  }

  /** Databases on disk; leftovers of an interrupted create or drop are removed. */
  listDatabases(): string[] {
    const root = path.join(this.dataDir, "databases");
    const names: string[] = [];
    for (const entry of fs.readdirSync(root)) {
      if (entry.endsWith(".replaced")) {
        // A RESTORE swaps NAME.replaced out and NAME.restoring in: a crash between the two
        // renames leaves no NAME, so the old database comes back and the restore never happened.
        const base = path.join(root, entry.slice(0, -".replaced".length));
        if (fs.existsSync(base)) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
        else fs.renameSync(path.join(root, entry), base);
      }
    }
    for (const entry of fs.readdirSync(root)) {
      if (entry.endsWith(".creating") || entry.endsWith(".dropping") || entry.endsWith(".restoring")) {
        fs.rmSync(path.join(root, entry), { recursive: true, force: true });
      } else if (DATABASE_NAME.test(entry) && fs.existsSync(path.join(root, entry, "control.json"))) {
        names.push(entry);
      }
    }
    return names;
  }

  async createDatabase(name: string, recoveryModel: RecoveryModel = "FULL"): Promise<MirrorliteDatabase> {
    const dir = this.databaseDir(name);
    if (fs.existsSync(dir)) throw new Error(`database '${name}' already exists`);
    const temp = `${dir}.creating`;
    fs.rmSync(temp, { recursive: true, force: true });
    await MirrorliteDatabase.create(name, temp, recoveryModel, this.databaseOptions.segmentBytes);
    fs.renameSync(temp, dir); // a crash mid-create leaves only the .creating folder
    return this.openDatabase(name);
  }

  async openDatabase(name: string): Promise<MirrorliteDatabase> {
    const open = this.databases.get(name);
    if (open !== undefined) return open;
    const db = await MirrorliteDatabase.open(name, this.databaseDir(name), this.services,
      this.databaseOptions);
    this.databases.set(name, db);
    return db;
  }

  async closeDatabase(name: string, heldBy?: object): Promise<void> {
    const db = this.databases.get(name);
    this.databases.delete(name);
    await db?.close(heldBy);
  }

  /** Closes the database and deletes its files: renamed first, so a crash never leaves half of it. */
  async dropDatabase(name: string): Promise<void> {
    const dir = this.databaseDir(name);
    await this.closeDatabase(name);
    const doomed = `${dir}.dropping`;
    fs.renameSync(dir, doomed);
    fsyncDirectory(path.dirname(dir));
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    for (const name of [...this.databases.keys()]) await this.closeDatabase(name);
    await this.readers.close();
    this.control.prepare("SELECT guard_unlock_dir(?)").get(path.join(this.dataDir, ".lock"));
    this.control.close();
  }
}

/** Default fatal handler: the log can no longer be trusted, so stop before acknowledging more. */
export function fatalExit(error: Error): void {
  process.stderr.write(`mirrorlite: fatal: ${error.stack ?? error.message}\n`);
  process.exit(70);
}
