// Messages between a database's main-thread owner and its writer worker.
import type Database from "better-sqlite3";

/** A result column: its name and SQLite's declared type (the T-SQL type text; null for expressions). */
export interface ColumnInfo {
  readonly name: string;
  readonly type: string | null;
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
      readonly params: unknown[] }
  | { readonly type: "control"; readonly id: number; readonly job: number; readonly sql: string }
  | { readonly type: "checkpoint"; readonly id: number }
  | { readonly type: "close"; readonly id: number };

export type WriterReply =
  | { readonly id: number; readonly ok: true; readonly rows: unknown[][] | null;
      readonly columns: ColumnInfo[] | null; readonly changes: number; readonly lastInsertRowid: number;
      readonly inTransaction: boolean; readonly commitLsn: number }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string;
      readonly inTransaction: boolean; readonly commitLsn: number };

export interface RecordMessage {
  readonly type: "record";
  readonly lsn: number;
  readonly record: Uint8Array;
}
