// Goal: the log alone is the truth. A seeded workload of 2,000+ operations from several writers
// (spills, rollbacks, savepoints, DDL, CREATE INDEX, VACUUM, incremental vacuum that shrinks the
// file) runs through the engine; after every checkpoint and at the end, the database rebuilt
// from its log alone is byte-identical to the file, and PRAGMA integrity_check says ok.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { StorageEngine } from "../src/storage/engine.js";
import { rebuildFromLog } from "../src/storage/recovery.js";
import { Prng, checkTags, newCounters, runOp, setupSchema } from "./support/workload.js";
import { tempDir } from "./support/temp.js";

const WRITERS = 4;
const OPS_PER_WRITER = 520;
const VERIFY_EVERY_OPS = 150;
const SEED = Number(process.env.MIRRORLITE_SEED ?? 20261126);

test("workload: rebuilding from the log alone is byte-identical after every checkpoint", async () => {
  const temp = tempDir("workload");
  const engine = StorageEngine.open({ dataDir: temp.dir, segmentBytes: 9 * 1024 * 1024,
    checkpointEveryBytes: 3 * 1024 * 1024, cacheSizePages: 64,
    onFatal: (error) => { throw error; } });
  try {
    const db = await engine.createDatabase("work");
    // A log chain from LSN 1 (as after a full backup at creation) keeps the whole log, base
    // image included, so the file can be rebuilt from the log alone.
    db.logBackedUpTo(1);
    await setupSchema(db.session());
    const counters = newCounters();
    const acked = new Set<string>();
    let verified = 0;
    let opsSinceVerify = 0;
    const verify = async (): Promise<void> => {
      const file = await db.readCheckpointedFile();
      if (file === null) return; // a reader pinned the WAL; the next round will do
      const rebuilt = path.join(temp.dir, "rebuilt.db");
      rebuildFromLog(db.paths.logDir, rebuilt, file.lsn);
      assert.ok(fs.readFileSync(rebuilt).equals(file.image),
        `seed=${SEED}: rebuild at lsn ${file.lsn} differs from the checkpointed file`);
      verified++;
    };
    await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
      const session = db.session();
      const prng = new Prng(SEED * 31 + w);
      for (let op = 0; op < OPS_PER_WRITER; op++) {
        await runOp(db, session, prng, `w${w}o${op}`, counters, (tag) => acked.add(tag));
        if (w === 0 && ++opsSinceVerify >= VERIFY_EVERY_OPS / WRITERS) {
          opsSinceVerify = 0;
          await verify();
        }
      }
    }));
    await verify();
    const tags = await checkTags(db.session());
    for (const tag of acked) assert.ok(tags.has(tag), `seed=${SEED}: acknowledged ${tag} missing`);
    for (const tag of tags.keys()) assert.notEqual(tag.split(":")[1], "0", `rolled-back rows of ${tag}`);
    const integrity = await db.session().execute("PRAGMA integrity_check");
    assert.deepEqual(integrity.rows, [{ integrity_check: "ok" }]);

    assert.ok(counters.ops >= 2000, `${counters.ops} operations`);
    assert.ok(counters.rolledBackSpills > 0 && counters.vacuums > 0 && counters.indexes > 0
      && counters.savepoints > 0 && counters.schemaChanges > 0, JSON.stringify(counters));
    assert.ok(counters.shrinks > 0, `incremental vacuum never shrank the file: ${JSON.stringify(counters)}`);
    assert.ok(verified >= 10, `only ${verified} checkpoint verifications`);
    process.stdout.write(`# workload seed=${SEED} ${JSON.stringify(counters)} verified=${verified} `
      + `lsn=${db.log.lastLsn} segments=${db.log.segmentList().length}\n`);

    // At the end, closed: the file itself equals the rebuild, and the rebuild passes integrity_check.
    const lastLsn = db.log.lastLsn;
    await engine.closeDatabase("work");
    const rebuilt = path.join(temp.dir, "final.db");
    assert.equal(rebuildFromLog(db.paths.logDir, rebuilt), lastLsn);
    assert.ok(fs.readFileSync(rebuilt).equals(fs.readFileSync(db.paths.dbPath)), "final file differs");
    const check = new Database(rebuilt, { readonly: true });
    assert.equal(check.pragma("integrity_check", { simple: true }), "ok");
    check.close();
  } finally {
    await engine.close();
    temp.remove();
  }
});
