import { after, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { guardExtensionPath, loadGuard } from "../src/storage/guard.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "guard-test-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const betterSqlitePath = createRequire(import.meta.url).resolve("better-sqlite3");
const LONG_QUERY =
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) " +
  "SELECT count(*) FROM (SELECT x FROM c LIMIT 2000000000)";

function scalar(db: Database.Database, sql: string, ...params: unknown[]): unknown {
  return db.prepare(sql).pluck().get(...params);
}

function openWal(name: string): Database.Database {
  const db = new Database(path.join(tmp, name));
  assert.equal(db.pragma("journal_mode = WAL", { simple: true }), "wal");
  loadGuard(db);
  return db;
}

interface Ckpt { busy: number; log: number; checkpointed: number }
function checkpoint(db: Database.Database, mode: string): Ckpt {
  return JSON.parse(scalar(db, "SELECT guard_checkpoint(?)", mode) as string) as Ckpt;
}

/** Inserts n rows of ~1 page each in one transaction. */
function insertPages(db: Database.Database, n: number): void {
  db.prepare(
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ?) " +
      "INSERT INTO t SELECT randomblob(4000) FROM c",
  ).run(n);
}

test("extension path is absolute and built", () => {
  assert.ok(path.isAbsolute(guardExtensionPath()));
  assert.ok(fs.existsSync(guardExtensionPath()));
});

test("no auto-checkpoint on commit, no checkpoint or WAL deletion on close", () => {
  const file = path.join(tmp, "nockpt.db");
  const db = new Database(file);
  assert.equal(db.pragma("journal_mode = WAL", { simple: true }), "wal");
  assert.equal(db.pragma("wal_autocheckpoint", { simple: true }), 1000);
  loadGuard(db);
  assert.equal(db.pragma("wal_autocheckpoint", { simple: true }), 0);
  db.exec("CREATE TABLE t(x BLOB)");
  const dbSize0 = fs.statSync(file).size;

  insertPages(db, 1500);
  const wal1 = fs.statSync(file + "-wal").size;
  assert.ok(wal1 > 1500 * 4096, `wal ${wal1}`);
  insertPages(db, 1500);
  const wal2 = fs.statSync(file + "-wal").size;
  assert.ok(wal2 > wal1 + 1400 * 4096, `WAL must keep growing: ${wal1} -> ${wal2}`);
  assert.equal(fs.statSync(file).size, dbSize0, "nothing may be checkpointed into the db file");

  const before = fs.statSync(file);
  db.close();
  const afterClose = fs.statSync(file);
  assert.equal(afterClose.size, before.size);
  assert.equal(afterClose.mtimeMs, before.mtimeMs);
  assert.equal(fs.statSync(file + "-wal").size, wal2, "WAL must survive close untouched");

  const again = new Database(file, { readonly: true });
  assert.equal(scalar(again, "SELECT count(*) FROM t"), 3000);
  again.close();
});

test("authorizer denies journaling changes, checkpoints and foreign files", () => {
  const db = openWal("auth.db");
  db.exec("CREATE TABLE t(x)");
  const other = path.join(tmp, "other.db");
  const denied = [
    `ATTACH '${other}' AS other`,
    "PRAGMA journal_mode=DELETE",
    "PRAGMA journal_mode=WAL",
    "PRAGMA main.JOURNAL_MODE = delete",
    "PRAGMA synchronous=FULL",
    "PRAGMA locking_mode=EXCLUSIVE",
    "PRAGMA wal_autocheckpoint=10",
    "PRAGMA wal_checkpoint",
    "PRAGMA wal_checkpoint(TRUNCATE)",
  ];
  for (const sql of denied) {
    assert.throws(() => db.prepare(sql), { code: "SQLITE_AUTH", message: "not authorized" }, sql);
  }
  // A non-literal file name reaches the authorizer as NULL and is denied too.
  assert.throws(() => db.prepare("ATTACH ? AS other"), { code: "SQLITE_AUTH" });
  // VACUUM INTO attaches its target only while running, so it prepares fine and
  // fails at step time, with SQLite's generic SQLITE_AUTH text.
  assert.throws(() => db.exec(`VACUUM INTO '${other}'`), { code: "SQLITE_AUTH", message: "authorization denied" });
  assert.throws(() => db.prepare("VACUUM INTO ?").run(other), { code: "SQLITE_AUTH" });
  assert.equal(fs.existsSync(other), false);

  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(db.pragma("synchronous", { simple: true }), 1);
  assert.equal(db.pragma("locking_mode", { simple: true }), "normal");
  assert.equal(db.pragma("wal_autocheckpoint", { simple: true }), 0);
  db.exec("ATTACH ':memory:' AS mem; DETACH mem");

  db.exec("VACUUM");
  db.exec("PRAGMA auto_vacuum=INCREMENTAL");
  db.exec("VACUUM");
  assert.equal(db.pragma("auto_vacuum", { simple: true }), 2);
  db.exec("CREATE TABLE big(x BLOB)");
  db.prepare(
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 100) " +
      "INSERT INTO big SELECT randomblob(4000) FROM c",
  ).run();
  db.exec("DELETE FROM big");
  const free0 = db.pragma("freelist_count", { simple: true }) as number;
  assert.ok(free0 >= 100);
  db.pragma("incremental_vacuum(10)");
  assert.equal(db.pragma("freelist_count", { simple: true }), free0 - 10);
  db.close();
});

test("guard_checkpoint reports busy/log/checkpointed and refuses TRUNCATE", () => {
  const db = openWal("ckpt.db");
  db.exec("CREATE TABLE t(x BLOB)");
  insertPages(db, 20);
  insertPages(db, 20);
  const c1 = checkpoint(db, "PASSIVE");
  assert.equal(c1.busy, 0);
  assert.ok(c1.log > 40, JSON.stringify(c1));
  assert.equal(c1.checkpointed, c1.log);

  const reader = new Database(path.join(tmp, "ckpt.db"));
  loadGuard(reader);
  reader.exec("BEGIN");
  assert.equal(scalar(reader, "SELECT count(*) FROM t"), 40);
  insertPages(db, 20);
  const c2 = checkpoint(db, "PASSIVE");
  assert.equal(c2.busy, 0);
  assert.ok(c2.log > 0 && c2.checkpointed < c2.log, JSON.stringify(c2));
  db.pragma("busy_timeout = 0");
  assert.equal(checkpoint(db, "FULL").busy, 1);
  reader.exec("COMMIT");

  const c3 = checkpoint(db, "restart");
  assert.equal(c3.busy, 0);
  assert.equal(c3.checkpointed, c3.log);
  for (const mode of ["TRUNCATE", "truncate", "nonsense"]) {
    assert.throws(() => checkpoint(db, mode), /PASSIVE, FULL or RESTART/);
  }
  assert.throws(() => scalar(db, "SELECT guard_checkpoint(NULL)"), /PASSIVE, FULL or RESTART/);
  reader.close();
  db.close();
});

type WorkerMsg =
  | { type: "started"; id: number }
  | { type: "error"; code: string; message: string }
  | { type: "done" }
  | { type: "closed" };

const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.betterSqlitePath);
const db = new Database(":memory:");
db.loadExtension(workerData.guardPath);
const id = db.prepare("SELECT guard_connection_id()").pluck().get();
db.prepare("SELECT guard_job(7)").get();
parentPort.postMessage({ type: "started", id });
try {
  db.prepare(workerData.query).get();
  parentPort.postMessage({ type: "done" });
} catch (e) {
  parentPort.postMessage({ type: "error", code: e.code, message: e.message });
}
parentPort.once("message", () => {
  db.close();
  parentPort.postMessage({ type: "closed" });
});
`;

/** Buffers a worker's messages so none is missed between awaits. */
function inbox(worker: Worker): (timeoutMs: number) => Promise<WorkerMsg> {
  const queue: WorkerMsg[] = [];
  let wake: (() => void) | undefined;
  worker.on("message", (m: WorkerMsg) => {
    queue.push(m);
    wake?.();
  });
  worker.on("error", (e) => {
    queue.push({ type: "error", code: "WORKER", message: String(e) });
    wake?.();
  });
  const next = async (timeoutMs: number): Promise<WorkerMsg> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no worker message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    return queue.shift() as WorkerMsg;
  };
  Object.defineProperty(next, "pending", { get: () => queue.length });
  return next;
}

test("guard_interrupt stops a query running in a worker thread, only for the right job", async () => {
  const control = new Database(":memory:");
  loadGuard(control);
  const interrupt = (id: number, job: number): unknown =>
    scalar(control, "SELECT guard_interrupt(?, ?)", id, job);
  const worker = new Worker(WORKER_CODE, {
    eval: true,
    workerData: { betterSqlitePath, guardPath: guardExtensionPath(), query: LONG_QUERY },
  });
  const next = inbox(worker);
  let id = 0;
  try {
    const started = await next(10_000);
    assert.equal(started.type, "started");
    if (started.type !== "started") return;
    id = started.id;
    // An interrupt that lands before the statement starts is lost (SQLite clears
    // the flag when a statement starts), so let the query get going first.
    await sleep(300);
    assert.equal(interrupt(id, 6), 0);
    assert.equal(interrupt(id, 0), 0);
    assert.equal(interrupt(999_999_999, 7), 0);
    await sleep(500);
    assert.equal((next as unknown as { pending: number }).pending, 0, "query must still run");

    const t0 = Date.now();
    assert.equal(interrupt(id, 7), 1);
    const res = await next(1000);
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(res, { type: "error", code: "SQLITE_INTERRUPT", message: "interrupted" });

    worker.postMessage("close");
    assert.equal((await next(5000)).type, "closed");
    assert.equal(interrupt(id, 7), 0, "closed connections leave the registry");
  } finally {
    if (id) interrupt(id, 7); // never leave a runaway query behind a failed assertion
    await worker.terminate();
    control.close();
  }
});

test("connections are unregistered on close; ids are distinct and never reused", () => {
  const control = new Database(":memory:");
  const controlId = loadGuard(control);
  const dbs = [0, 1, 2, 3].map(() => new Database(":memory:"));
  const ids = dbs.map((d) => loadGuard(d));
  assert.equal(new Set([controlId, ...ids]).size, 5);
  for (const i of ids) assert.ok(i >= 1);

  const first = dbs[0];
  const firstId = ids[0];
  assert.ok(first && firstId);
  first.prepare("SELECT guard_job(5)").get();
  assert.equal(scalar(control, "SELECT guard_interrupt(?, 5)", firstId), 1);
  first.prepare("SELECT guard_job(0)").get();
  assert.equal(scalar(control, "SELECT guard_interrupt(?, 0)", firstId), 0);
  first.prepare("SELECT guard_job(5)").get();
  for (const d of dbs) d.close();
  assert.equal(scalar(control, "SELECT guard_interrupt(?, 5)", firstId), 0);

  const later = new Database(":memory:");
  const laterId = loadGuard(later);
  assert.ok(laterId > Math.max(controlId, ...ids));
  // Reloading on the same connection replaces (and frees) the old entry.
  later.prepare("SELECT guard_job(3)").get();
  const reloadedId = loadGuard(later);
  assert.ok(reloadedId > laterId);
  assert.equal(scalar(control, "SELECT guard_interrupt(?, 3)", laterId), 0);
  later.prepare("SELECT guard_job(3)").get();
  assert.equal(scalar(control, "SELECT guard_interrupt(?, 3)", reloadedId), 1);
  later.close();
  control.close();
});

test("guard_lock_dir is exclusive within the process and across processes", () => {
  const db = new Database(":memory:");
  loadGuard(db);
  const lockPath = path.join(tmp, "LOCK");
  const lock = (): unknown => scalar(db, "SELECT guard_lock_dir(?)", lockPath);
  const unlock = (): unknown => scalar(db, "SELECT guard_unlock_dir(?)", lockPath);
  const child = (): string => {
    const script =
      `const D = require(${JSON.stringify(betterSqlitePath)});` +
      `const db = new D(":memory:"); db.loadExtension(${JSON.stringify(guardExtensionPath())});` +
      `process.stdout.write(String(db.prepare("SELECT guard_lock_dir(?)").pluck().get(${JSON.stringify(lockPath)})));`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };

  assert.equal(lock(), 1);
  assert.equal(lock(), 0);
  assert.equal(child(), "0");
  assert.equal(unlock(), 1);
  assert.equal(unlock(), 0);
  assert.equal(child(), "1"); // the child's lock dies with the child
  assert.equal(lock(), 1);
  // Another connection in the same process sees the lock as taken as well.
  const other = new Database(":memory:");
  loadGuard(other);
  assert.equal(scalar(other, "SELECT guard_lock_dir(?)", lockPath), 0);
  other.close();
  assert.equal(unlock(), 1);

  assert.throws(
    () => scalar(db, "SELECT guard_lock_dir(?)", path.join(tmp, "missing", "LOCK")),
    /No such file or directory/,
  );
  db.close();
});

test("the guard survives many connections opened and closed in parallel threads", async () => {
  const code = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.betterSqlitePath);
const ids = [];
for (let i = 0; i < 200; i++) {
  const db = new Database(":memory:");
  db.loadExtension(workerData.guardPath);
  ids.push(db.prepare("SELECT guard_connection_id()").pluck().get());
  db.prepare("SELECT guard_job(1)").get();
  db.close();
}
parentPort.postMessage(ids);
`;
  const control = new Database(":memory:");
  loadGuard(control);
  let running = true;
  let hits = 0;
  const hammer = (async () => {
    // Interrupt whatever ids might exist while the workers churn through them.
    while (running) {
      for (let i = 1; i < 2000; i++) hits += scalar(control, "SELECT guard_interrupt(?, 1)", i) as number;
      await sleep(1);
    }
  })();
  const results = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<number[]>((resolve, reject) => {
          const w = new Worker(code, {
            eval: true,
            workerData: { betterSqlitePath, guardPath: guardExtensionPath() },
          });
          w.once("message", (ids: number[]) => resolve(ids));
          w.once("error", reject);
        }),
    ),
  );
  running = false;
  await hammer;
  const all = results.flat();
  assert.equal(all.length, 800);
  assert.equal(new Set(all).size, 800);
  assert.ok(hits >= 0);
  control.close();
});

test("registry and locks outlive the last guarded connection (the .so is never unloaded)", () => {
  // Every other test has closed its connections, so each close below drops the
  // extension's last SQLite reference; without -z nodelete dlclose() would
  // unload it, resetting ids and forgetting held locks.
  const lockPath = path.join(tmp, "LOCK2");
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const db = new Database(":memory:");
    ids.push(loadGuard(db));
    if (i === 0) assert.equal(scalar(db, "SELECT guard_lock_dir(?)", lockPath), 1);
    if (i === 2) assert.equal(scalar(db, "SELECT guard_unlock_dir(?)", lockPath), 1);
    db.close();
  }
  assert.ok(ids[0] !== undefined && ids[1] === ids[0] + 1 && ids[2] === ids[0] + 2, String(ids));
});
