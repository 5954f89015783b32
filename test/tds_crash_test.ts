// Goal: a commit acknowledged over TDS survives a crash of the server process. Eight tedious
// connections insert single-row autocommit transactions and record each acknowledged id; the
// server is killed (SIGKILL; then SIGKILL plus a simulated power cut: the log cut at its fsynced
// offset plus a torn fragment, WAL gone, database file back to its checkpoint image), restarted,
// and every acknowledged id must be there.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Connection } from "tedious";
import { close, connect, query, startServer, type Server } from "./support/server.js";
import { powerCut } from "./support/power_cut.js";
import { tempDir } from "./support/temp.js";
import { Prng } from "./support/workload.js";

const WRITERS = 8;
const SEED = Number(process.env.MIRRORLITE_SEED ?? 11);

interface Load { acked: Set<number>; stop: () => Promise<void> }

/** Writers insert until stopped; an id is recorded only once its INSERT was acknowledged. */
async function startLoad(port: number, round: number): Promise<Load> {
  const acked = new Set<number>();
  const connections: Connection[] = [];
  for (let w = 0; w < WRITERS; w++) connections.push(await connect(port, "crash"));
  let running = true;
  const loops = connections.map(async (connection, w) => {
    for (let i = 0; running; i++) {
      const id = round * 10_000_000 + w * 100_000 + i;
      try {
        await query(connection, `INSERT INTO acks (id, note) VALUES (${id}, N'w${w}')`);
        acked.add(id);
      } catch {
        return; // the server died under us
      }
    }
  });
  return {
    acked,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await Promise.all(connections.map((connection) => close(connection)));
    },
  };
}

async function waitForAcks(load: Load, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (load.acked.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

async function checkAcked(port: number, acked: Set<number>, label: string): Promise<void> {
  const c = await connect(port, "crash");
  const rows = await query(c, "SELECT id FROM acks");
  await close(c);
  const present = new Set(rows.rows[0]!.map((row) => Number(row.id)));
  const lost = [...acked].filter((id) => !present.has(id));
  assert.deepEqual(lost.slice(0, 10), [], `${label}: ${lost.length} acknowledged ids lost (seed ${SEED})`);
}

test("acknowledged commits survive SIGKILL and simulated power cuts", { timeout: 240_000 }, async () => {
  const temp = tempDir("tds-crash");
  const dataDir = path.join(temp.dir, "data");
  const prng = new Prng(SEED);
  const env = { MIRRORLITE_DURABILITY_TEST_MODE: "1" };
  let server: Server = await startServer(dataDir, env);
  try {
    const c = await connect(server.port);
    await query(c, "CREATE DATABASE crash");
    await query(c, "USE crash; CREATE TABLE acks (id BIGINT PRIMARY KEY, note NVARCHAR(20))");
    await close(c);
    const everAcked = new Set<number>();
    const rounds = ["sigkill", "sigkill", "power-cut", "power-cut", "power-cut", "power-cut"];
    for (const [round, kind] of rounds.entries()) {
      const load = await startLoad(server.port, round + 1);
      await waitForAcks(load, 200 + prng.below(400));
      await server.kill();
      await load.stop();
      for (const id of load.acked) everAcked.add(id);
      if (kind === "power-cut") powerCut(path.join(dataDir, "databases", "crash"), prng);
      server = await startServer(dataDir, env);
      await checkAcked(server.port, everAcked, `round ${round} (${kind})`);
    }
    assert.ok(everAcked.size >= 1200);
  } finally {
    await server.stop();
    temp.remove();
  }
});
