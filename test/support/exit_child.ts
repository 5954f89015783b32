// Commits rows (reporting each acknowledged id), then leaves without closing anything, with
// more commits in flight: process.exit() must neither lose nor bypass a record.
// argv: dataDir rows
import { StorageEngine } from "../../src/storage/engine.js";

const [dataDir, rowsText] = process.argv.slice(2);
const engine = StorageEngine.open({ dataDir: dataDir!, segmentBytes: 9 * 1024 * 1024 });
const db = engine.listDatabases().includes("exit") ? await engine.openDatabase("exit")
  : await engine.createDatabase("exit");
const session = db.session();
await session.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)");
for (let i = 0; i < Number(rowsText); i++) {
  const result = await session.execute("INSERT INTO t(v) VALUES (randomblob(100))");
  process.send!({ acked: result.lastInsertRowid });
}
const inFlight = db.session();
void inFlight.execute("INSERT INTO t(v) VALUES (randomblob(100))").catch(() => undefined);
process.send!({ exiting: true }, () => process.exit(0));
