// Database users (sys.database_principals) live inside each database, in a table the engine
// logs like any other: so they travel with backups and, later, with the mirror, exactly as
// SQL Server's users do. Users map to logins by SID; a user whose SID matches no login is
// orphaned until ALTER USER … WITH LOGIN. User SQL cannot name the table (`__ml_` is reserved).
import { randomBytes } from "node:crypto";
import { SqlError } from "../errors/sql_error.js";
import type { MirrorliteDatabase } from "../storage/database.js";

export const PRINCIPALS_TABLE = "__ml_database_principals";
/** SQL Server's fixed database principals: public 0, dbo 1, guest 2; users start at 5. */
const FIRST_USER_ID = 5;

export interface DatabaseUser {
  readonly principalId: number;
  readonly name: string;
  /** "S" SQL_USER, "C" CERTIFICATE_MAPPED_USER. */
  readonly type: "S" | "C";
  /** Hex SID; null for a certificate-mapped user. */
  readonly sid: string | null;
  /** "INSTANCE" (mapped to a login) or "NONE" (WITHOUT LOGIN, certificate). */
  readonly authenticationType: "INSTANCE" | "NONE";
  readonly defaultSchema: string;
  readonly certificate: string | null;
  readonly createDate: string;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${PRINCIPALS_TABLE} (principal_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE, type TEXT NOT NULL, sid TEXT, authentication_type TEXT NOT NULL,
  default_schema TEXT NOT NULL, certificate TEXT, create_date TEXT NOT NULL)`;

/** Per-database cache of the users, refreshed after each change and after a restore. */
export class PrincipalCache {
  private readonly users = new Map<number, DatabaseUser[]>();

  async load(id: number, db: MirrorliteDatabase): Promise<DatabaseUser[]> {
    const cached = this.users.get(id);
    if (cached !== undefined) return cached;
    const rows = await readUsers(db);
    this.users.set(id, rows);
    return rows;
  }

  cached(id: number): DatabaseUser[] {
    return this.users.get(id) ?? [];
  }

  forget(id: number): void {
    this.users.delete(id);
  }
}

async function readUsers(db: MirrorliteDatabase): Promise<DatabaseUser[]> {
  const session = db.session();
  try {
    const exists = await session.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = ?", [PRINCIPALS_TABLE]);
    if (Number((exists.rows![0] as { n: number | bigint }).n) === 0) return [];
    const result = await session.execute(`SELECT principal_id, name, type, sid, authentication_type,
      default_schema, certificate, create_date FROM ${PRINCIPALS_TABLE} ORDER BY principal_id`);
    return (result.rows as Record<string, unknown>[]).map((row) => ({
      principalId: Number(row.principal_id), name: String(row.name), type: row.type as "S" | "C",
      sid: row.sid === null ? null : String(row.sid),
      authenticationType: row.authentication_type as "INSTANCE" | "NONE",
      defaultSchema: String(row.default_schema), certificate: row.certificate === null ? null : String(row.certificate),
      createDate: String(row.create_date),
    }));
  } finally {
    await session.close();
  }
}

export interface NewUser {
  readonly name: string;
  readonly type: "S" | "C";
  readonly sid: string | null;
  readonly authenticationType: "INSTANCE" | "NONE";
  readonly defaultSchema: string | null;
  readonly certificate: string | null;
}

/** Adds a user (one logged transaction); 15023 when the name is taken. */
export async function insertUser(db: MirrorliteDatabase, existing: readonly DatabaseUser[], user: NewUser,
  now: Date): Promise<void> {
  if (existing.some((other) => other.name.toLowerCase() === user.name.toLowerCase())
    || ["dbo", "guest", "public", "sys", "information_schema"].includes(user.name.toLowerCase())) {
    throw new SqlError("USER_EXISTS", [user.name]);
  }
  const id = Math.max(FIRST_USER_ID - 1, ...existing.map((other) => other.principalId)) + 1;
  const session = db.session();
  try {
    await session.execute(CREATE_TABLE);
    await session.execute(`INSERT INTO ${PRINCIPALS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, user.name, user.type, user.sid, user.authenticationType, user.defaultSchema ?? "dbo",
        user.certificate, now.toISOString()]);
  } finally {
    await session.close();
  }
}

export async function deleteUser(db: MirrorliteDatabase, name: string): Promise<void> {
  const session = db.session();
  try {
    await session.execute(`DELETE FROM ${PRINCIPALS_TABLE} WHERE name = ?`, [name]);
  } finally {
    await session.close();
  }
}

export async function updateUser(db: MirrorliteDatabase, name: string,
  change: { sid?: string; newName?: string; defaultSchema?: string }): Promise<void> {
  const session = db.session();
  try {
    if (change.sid !== undefined) {
      await session.execute(`UPDATE ${PRINCIPALS_TABLE} SET sid = ?, authentication_type = 'INSTANCE' WHERE name = ?`,
        [change.sid, name]);
    }
    if (change.defaultSchema !== undefined) {
      await session.execute(`UPDATE ${PRINCIPALS_TABLE} SET default_schema = ? WHERE name = ?`, [change.defaultSchema, name]);
    }
    if (change.newName !== undefined) {
      await session.execute(`UPDATE ${PRINCIPALS_TABLE} SET name = ? WHERE name = ?`, [change.newName, name]);
    }
  } finally {
    await session.close();
  }
}

/** A SID for a user WITHOUT LOGIN (SQL Server gives those a SID too). */
export function newSid(): string {
  return randomBytes(16).toString("hex").toUpperCase();
}
