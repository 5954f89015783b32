// A child process for crash tests: opens (or creates) a database in durability test mode,
// reports every tag it finds (failing on any partial transaction), then runs the seeded
// workload from several writers until it is killed, reporting each acknowledged tag.
// argv: dataDir seed recoveryModel [verify-only]
import { StorageEngine } from "../../src/storage/engine.js";
import type { RecoveryModel } from "../../src/storage/control_file.js";
import { Prng, checkTags, newCounters, runOp, setupSchema } from "./workload.js";

const [dataDir, seedText, model, mode] = process.argv.slice(2);
const seed = Number(seedText);
const send = (message: unknown): void => { process.send!(message); };

const engine = StorageEngine.open({ dataDir: dataDir!, durabilityTestMode: true,
  segmentBytes: 9 * 1024 * 1024, checkpointEveryBytes: 1024 * 1024, cacheSizePages: 64,
  onFatal: (error) => { send({ type: "fatal", message: error.stack }); process.exit(70); } });
const exists = engine.listDatabases().includes("crash");
const db = exists ? await engine.openDatabase("crash")
  : await engine.createDatabase("crash", model as RecoveryModel);
if (!exists) await setupSchema(db.session());
try {
  const tags = await checkTags(db.session());
  const integrity = await db.session().execute("PRAGMA integrity_check");
  send({ type: "tags", tags: [...tags.keys()], integrity: integrity.rows });
} catch (error) {
  send({ type: "fatal", message: (error as Error).message });
  process.exit(71);
}
if (mode === "verify-only") {
  await engine.close();
  process.exit(0);
}
const counters = newCounters();
await Promise.all([0, 1, 2].map(async (w) => {
  const session = db.session();
  const prng = new Prng(seed * 7 + w);
  for (let op = 0; ; op++) {
    await runOp(db, session, prng, `s${seed}w${w}o${op}`, counters, (tag) => send({ type: "ack", tag }));
  }
}));
