// The writer of one database, on its own worker thread: the only connection that writes. After
// every statement that leaves no transaction open it captures the new WAL commits and turns them
// into log records, before anything else can happen on this connection. Records leave in LSN
// order, before the reply of the statement that produced them.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../util/assert.js";
import { CHUNK_BODY_BYTES_MAX } from "../log/record.js";
import { loadGuard } from "./guard.js";
import { WalCapture, transactionRecords, type CapturedTransaction } from "./wal_capture.js";
import { collectRows, columnInfo, encodeResult, type ColumnInfo, type WriterInit, type WriterReply, type WriterRequest } from "./writer_protocol.js";

const init = workerData as WriterInit;
const port = parentPort!;
/** Shared with the main thread: [0] = durable LSN, so records in flight stay bounded. */
const durableShared = new BigInt64Array(init.durableLsnShared);
const IN_FLIGHT_BYTES_MAX = 4 * CHUNK_BODY_BYTES_MAX;

const db = openWriter();
const setJob = db.prepare("SELECT guard_job(?)");
const capture = new WalCapture(init.walPath);
const statements = new Map<string, Database.Statement>();
const STATEMENT_CACHE_MAX = 256;
let nextLsn = init.nextLsn;
const inFlight: { lsn: number; bytes: number }[] = [];

function openWriter(): Database.Database {
  const connection = new Database(init.dbPath, { fileMustExist: true });
  // Durability comes from our own log: SQLite's per-commit fsync would only cap group commit.
  connection.pragma("synchronous = NORMAL");
  connection.pragma("wal_autocheckpoint = 0");
  connection.pragma(`cache_size = ${init.cacheSizePages > 0 ? init.cacheSizePages : -16000}`);
  loadGuard(connection);
  connection.defaultSafeIntegers(init.safeIntegers);
  const mode = connection.pragma("journal_mode", { simple: true });
  assert(mode === "wal", `writer opened in journal mode ${String(mode)}`);
  return connection;
}

port.on("message", (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = handle(request);
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (error instanceof Error && error.name === "InvariantError") throw error;
    captureCommits();
    reply = { id: request.id, ok: false, code: e.code ?? "ERROR", message: e.message,
      inTransaction: db.inTransaction, commitLsn: lastLsn() };
  }
  port.postMessage(reply);
});

function handle(request: WriterRequest): WriterReply {
  switch (request.type) {
    case "exec": return runJob(request.id, request.job, () => execute(request.sql, request.params, request.encode === true));
    case "control": return runJob(request.id, request.job, () => ({ ...prepared(request.sql).run(), rows: null }));
    case "checkpoint": return checkpoint(request.id);
    case "close": db.close(); capture.close(); return { id: request.id, ok: true, rows: null,
      columns: null, changes: 0, lastInsertRowid: 0, inTransaction: false, commitLsn: lastLsn() };
  }
}

interface JobResult {
  rows: unknown[][] | null;
  columns?: ColumnInfo[];
  encoded?: Uint8Array;
  rowCount?: number;
  changes: number;
  lastInsertRowid: number | bigint;
}

function runJob(id: number, job: number, body: () => JobResult): WriterReply {
  setJob.run(job);
  let result;
  try {
    result = body();
  } finally {
    setJob.run(0);
  }
  captureCommits();
  return { id, ok: true, rows: result.rows, columns: result.columns ?? null, changes: result.changes,
    lastInsertRowid: Number(result.lastInsertRowid), inTransaction: db.inTransaction,
    commitLsn: lastLsn(),
    ...(result.encoded === undefined ? {} : { encoded: result.encoded, rowCount: result.rowCount ?? 0 }) };
}

function execute(sql: string, params: unknown[], encode: boolean): JobResult {
  const statement = prepared(sql);
  if (statement.reader) {
    const rows = collectRows(statement, params);
    const columns = columnInfo(statement);
    if (encode) return { rows: [], columns, encoded: encodeResult(columns, rows), rowCount: rows.length, changes: 0, lastInsertRowid: 0 };
    return { rows, columns, changes: 0, lastInsertRowid: 0 };
  }
  const info = statement.run(...params);
  return { rows: null, changes: info.changes, lastInsertRowid: info.lastInsertRowid };
}

function prepared(sql: string): Database.Statement {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    if (statements.size >= STATEMENT_CACHE_MAX) statements.delete(statements.keys().next().value!);
    statements.set(sql, statement);
  }
  return statement;
}

function checkpoint(id: number): WriterReply {
  assert(!db.inTransaction, "checkpoint inside a transaction");
  captureCommits();
  assert(Number(Atomics.load(durableShared, 0)) >= nextLsn - 1, "checkpoint before the log is durable");
  const row = db.prepare("SELECT guard_checkpoint('PASSIVE') AS r").get() as { r: string };
  const result = JSON.parse(row.r) as { busy: number; log: number; checkpointed: number };
  const full = result.busy === 0 && result.log === result.checkpointed;
  if (full) {
    fs.fsyncSync(init.dbFd);
    capture.allowRestart();
  }
  return { id, ok: true, rows: [[{ ...result, full }]], columns: null, changes: 0,
    lastInsertRowid: 0, inTransaction: false, commitLsn: lastLsn() };
}

function lastLsn(): number {
  return nextLsn - 1;
}

/** Turns every commit SQLite made since the last call into records and sends them. */
function captureCommits(): void {
  if (db.inTransaction) return;
  for (const transaction of capture.poll()) sendTransaction(transaction);
}

function sendTransaction(transaction: CapturedTransaction): void {
  for (const { lsn, record } of transactionRecords(capture, transaction, init.epoch, nextLsn, Date.now())) {
    waitForRoom(record.length);
    inFlight.push({ lsn, bytes: record.length });
    port.postMessage({ type: "record", lsn, record }, [record.buffer as ArrayBuffer]);
    nextLsn = lsn + 1;
  }
}

/** Blocks this thread while too many record bytes are not yet durable (bounded memory). */
function waitForRoom(bytes: number): void {
  for (;;) {
    const durable = Number(Atomics.load(durableShared, 0));
    while (inFlight.length > 0 && inFlight[0]!.lsn <= durable) inFlight.shift();
    const pending = inFlight.reduce((sum, entry) => sum + entry.bytes, 0);
    if (pending + bytes <= IN_FLIGHT_BYTES_MAX || inFlight.length === 0) return;
    Atomics.wait(durableShared, 0, BigInt(durable), 1000);
  }
}
