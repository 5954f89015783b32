// The seeded workload the storage tests run: single-row inserts, multi-row transactions,
// rolled-back transactions that spill the cache, savepoints, schema changes, CREATE INDEX,
// VACUUM and incremental vacuum that shrinks the file. Every committed transaction writes rows
// tagged "<name>:<rows>" into `acks`, so a checker can tell a whole transaction from half of one.
import type { MirrorliteDatabase } from "../../src/storage/database.js";
import type { Session } from "../../src/storage/session.js";
import { Prng } from "../../src/util/prng.js";

export { Prng };

export interface WorkloadCounters {
  ops: number;
  rolledBackSpills: number;
  vacuums: number;
  shrinks: number;
  indexes: number;
  schemaChanges: number;
  savepoints: number;
}

export function newCounters(): WorkloadCounters {
  return { ops: 0, rolledBackSpills: 0, vacuums: 0, shrinks: 0, indexes: 0, schemaChanges: 0,
    savepoints: 0 };
}

export async function setupSchema(session: Session): Promise<void> {
  await session.execute("PRAGMA auto_vacuum = INCREMENTAL");
  await session.execute("VACUUM");
  await session.execute("CREATE TABLE IF NOT EXISTS acks(id INTEGER PRIMARY KEY, tag TEXT NOT NULL, "
    + "i INTEGER NOT NULL, pad BLOB)");
  await session.execute("CREATE TABLE IF NOT EXISTS filler(id INTEGER PRIMARY KEY, grp INTEGER, body BLOB)");
}

/** Runs one random operation; `onAck` gets the tag of every acknowledged transaction. */
export async function runOp(db: MirrorliteDatabase, session: Session, prng: Prng, name: string,
  counters: WorkloadCounters, onAck: (tag: string) => void): Promise<void> {
  counters.ops++;
  const roll = prng.below(100);
  if (roll < 40) return insertRows(session, prng, `${name}:1`, 1, false, onAck);
  if (roll < 55) return insertRows(session, prng, `${name}:${2 + prng.below(20)}`, -1, true, onAck);
  if (roll < 59) return rolledBackSpill(session, prng, name, counters);
  if (roll < 65) return savepoints(session, prng, name, counters, onAck);
  if (roll < 73) return fillerInsert(session, prng);
  if (roll < 80) {
    const from = prng.below(2000);
    await session.execute("UPDATE filler SET body = randomblob(?) WHERE id BETWEEN ? AND ?",
      [100 + prng.below(2000), from, from + prng.below(40)]);
    return;
  }
  if (roll < 86) {
    const from = prng.below(2000);
    await session.execute("DELETE FROM filler WHERE id BETWEEN ? AND ?", [from, from + prng.below(60)]);
    return;
  }
  if (roll < 90) return schemaChange(session, prng, counters);
  if (roll < 94) return indexChange(session, prng, counters);
  if (roll < 96) { counters.vacuums++; await session.execute("VACUUM"); return; }
  return incrementalVacuum(db, session, prng, counters);
}

async function insertRows(session: Session, prng: Prng, tag: string, count: number,
  transaction: boolean, onAck: (tag: string) => void): Promise<void> {
  const rows = count > 0 ? count : Number(tag.split(":")[1]);
  if (!transaction) {
    await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, 0, randomblob(?))", [tag, prng.below(300)]);
    onAck(tag);
    return;
  }
  await session.begin();
  try {
    for (let i = 0; i < rows; i++) {
      await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, ?, randomblob(?))", [tag, i, prng.below(500)]);
    }
  } catch (error) {
    if (session.inTransaction) await session.rollback();
    throw error;
  }
  await session.commit();
  onAck(tag);
}

async function rolledBackSpill(session: Session, prng: Prng, name: string,
  counters: WorkloadCounters): Promise<void> {
  counters.rolledBackSpills++;
  await session.begin();
  // Tag ":0": rows of this tag must never be seen after the rollback.
  for (let i = 0; i < 120 + prng.below(80); i++) {
    await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, ?, randomblob(3000))", [`${name}:0`, i]);
  }
  await session.rollback();
}

async function savepoints(session: Session, prng: Prng, name: string, counters: WorkloadCounters,
  onAck: (tag: string) => void): Promise<void> {
  counters.savepoints++;
  const kept = `${name}:3`;
  await session.begin();
  await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, 0, NULL)", [kept]);
  await session.savepoint("sp1");
  await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, 1, NULL)", [kept]);
  await session.savepoint("sp2");
  for (let i = 0; i < 3 + prng.below(5); i++) {
    await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, ?, randomblob(100))", [`${name}x:0`, i]);
  }
  await session.rollbackTo("sp2");
  await session.execute("INSERT INTO acks(tag, i, pad) VALUES (?, 2, NULL)", [kept]);
  await session.commit();
  onAck(kept);
}

async function fillerInsert(session: Session, prng: Prng): Promise<void> {
  await session.execute("INSERT INTO filler(grp, body) VALUES (?, randomblob(?))",
    [prng.below(10), 200 + prng.below(3000)]);
}

async function schemaChange(session: Session, prng: Prng, counters: WorkloadCounters): Promise<void> {
  counters.schemaChanges++;
  try {
    await changeExtraTable(session, prng);
  } catch (error) {
    // Another writer may drop the table between our statements: that race is the workload's.
    if (!/no such table/.test((error as Error).message)) throw error;
  }
}

async function changeExtraTable(session: Session, prng: Prng): Promise<void> {
  const table = `extra${prng.below(4)}`;
  const step = prng.below(3);
  if (step === 0) {
    await session.execute(`CREATE TABLE IF NOT EXISTS ${table}(a INTEGER PRIMARY KEY, b TEXT)`);
    await session.execute(`INSERT INTO ${table}(b) SELECT hex(randomblob(50)) FROM filler LIMIT 30`);
  } else if (step === 1) {
    const exists = await session.execute("SELECT count(*) AS n FROM sqlite_schema WHERE name = ?", [table]);
    if ((exists.rows![0] as { n: number }).n > 0) {
      await session.execute(`ALTER TABLE ${table} ADD COLUMN c${prng.below(1_000_000)} INTEGER DEFAULT 7`);
    }
  } else {
    await session.execute(`DROP TABLE IF EXISTS ${table}`);
  }
}

async function indexChange(session: Session, prng: Prng, counters: WorkloadCounters): Promise<void> {
  counters.indexes++;
  if (prng.below(2) === 0) await session.execute("CREATE INDEX IF NOT EXISTS filler_grp ON filler(grp, body)");
  else await session.execute("DROP INDEX IF EXISTS filler_grp");
}

async function incrementalVacuum(db: MirrorliteDatabase, session: Session, prng: Prng,
  counters: WorkloadCounters): Promise<void> {
  await session.execute("DELETE FROM filler WHERE id % ? = 0", [2 + prng.below(3)]);
  const before = db.dbSizePages;
  await session.execute("PRAGMA incremental_vacuum(200)");
  if (db.dbSizePages < before) counters.shrinks++;
}

/** Every tag in the database with its row count; throws if any transaction is partial. */
export async function checkTags(session: Session): Promise<Map<string, number>> {
  const result = await session.execute("SELECT tag, count(*) AS n FROM acks GROUP BY tag");
  const tags = new Map<string, number>();
  for (const row of result.rows as { tag: string; n: number }[]) {
    const expected = Number(row.tag.split(":")[1]);
    if (expected !== row.n) throw new Error(`transaction ${row.tag} has ${row.n} rows, expected ${expected}`);
    tags.set(row.tag, row.n);
  }
  return tags;
}
