// Messages between a database's main-thread owner and its writer worker.
import type Database from "better-sqlite3";
import { TokenWriter } from "../tds/tokens.js";
import { columnTypesFor } from "../tds/types.js";

/** A result column: its name and SQLite's declared type (the T-SQL type text; null for expressions). */
export interface ColumnInfo {
  readonly name: string;
  readonly type: string | null;
}

/**
 * The most row data one result may hold in memory (rows travel to the main thread whole).
 * Beyond it the statement fails with RESULT_TOO_LARGE instead of exhausting the process.
 * (MIRRORLITE_RESULT_BYTES_MAX overrides it, for tests.) Streaming rows from the worker in
 * bounded chunks would lift the limit.
 */
export const RESULT_BYTES_MAX = Number(process.env.MIRRORLITE_RESULT_BYTES_MAX ?? 256 * 1024 * 1024);

/** A result set would exceed RESULT_BYTES_MAX; `code` is what the session maps to error 701. */
export class ResultTooLargeError extends Error {
  override readonly name = "ResultTooLargeError";
  readonly code = "RESULT_TOO_LARGE";
}

/** Every row of a reader statement, as arrays, with the memory they take bounded. */
export function collectRows(statement: Database.Statement, params: unknown[], bytesMax = RESULT_BYTES_MAX): unknown[][] {
  const rows: unknown[][] = [];
  let bytes = 0;
  for (const row of statement.raw(true).iterate(...params) as IterableIterator<unknown[]>) {
    bytes += rowBytes(row);
    if (bytes > bytesMax) {
      throw new ResultTooLargeError(`the result set exceeds ${bytesMax} bytes`);
    }
    rows.push(row);
  }
  return rows;
}

function rowBytes(row: readonly unknown[]): number {
  let bytes = 16;
  for (const value of row) {
    if (typeof value === "string") bytes += 2 * value.length;
    else if (value instanceof Uint8Array) bytes += value.length;
    else bytes += 8;
  }
  return bytes;
}

/**
 * A result set as TDS tokens (COLMETADATA and its rows), made on the thread that ran the
 * statement: the event loop then only frames and writes bytes, with no rows to clone or scan.
 */
export function encodeResult(columns: readonly ColumnInfo[], rows: readonly (readonly unknown[])[]): Uint8Array {
  const types = columnTypesFor(columns, rows);
  const tokens = new TokenWriter();
  tokens.colMetadata(types);
  for (const row of rows) tokens.row(types, row);
  return tokens.take();
}

export function columnInfo(statement: Database.Statement): ColumnInfo[] {
  return statement.columns().map((column) => ({ name: column.name, type: column.type }));
}

export interface WriterInit {
  readonly dbPath: string;
  readonly walPath: string;
  /** The long-lived descriptor of the database file (process-wide), for fsync after checkpoints. */
  readonly dbFd: number;
  readonly epoch: number;
  readonly nextLsn: number;
  readonly cacheSizePages: number;
  readonly safeIntegers: boolean;
  /** BigInt64Array over it: [0] = the durable LSN, published by the main thread. */
  readonly durableLsnShared: SharedArrayBuffer;
}

export type WriterRequest =
  | { readonly type: "exec"; readonly id: number; readonly job: number; readonly sql: string;
      readonly params: unknown[]; readonly encode?: boolean }
  | { readonly type: "control"; readonly id: number; readonly job: number; readonly sql: string }
  | { readonly type: "checkpoint"; readonly id: number }
  | { readonly type: "close"; readonly id: number };

export type WriterReply =
  | { readonly id: number; readonly ok: true; readonly rows: unknown[][] | null;
      readonly columns: ColumnInfo[] | null; readonly encoded?: Uint8Array; readonly rowCount?: number; readonly changes: number; readonly lastInsertRowid: number;
      readonly inTransaction: boolean; readonly commitLsn: number }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string;
      readonly inTransaction: boolean; readonly commitLsn: number };

export interface RecordMessage {
  readonly type: "record";
  readonly lsn: number;
  readonly record: Uint8Array;
}
