// Goal: every acknowledged transaction survives a crash, and nothing unacknowledged is half
// applied. A real child process runs the seeded workload; the test kills it (SIGKILL) at random
// points, simulates a power cut (log cut at the durable offset plus a random torn fragment, WAL
// deleted, database file back to its last checkpoint image), restarts it and checks every tag.
// A second test kills the child with SIGKILL alone (page cache kept: WAL salvage path).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Prng } from "./support/workload.js";
import { powerCut } from "./support/power_cut.js";
import { tempDir } from "./support/temp.js";

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "support", "crash_child.js");
const SEED = Number(process.env.MIRRORLITE_SEED ?? 7);
const POWER_CUTS = 50;

interface Run { child: ChildProcess; tags: Promise<string[]>; acked: string[]; ackCount: () => number }

function start(dataDir: string, seed: number, model: string, verifyOnly = false): Run {
  const child = fork(CHILD, [dataDir, String(seed), model, ...(verifyOnly ? ["verify-only"] : [])],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const acked: string[] = [];
  const tags = new Promise<string[]>((resolve, reject) => {
    child.on("message", (message: { type: string; tag?: string; tags?: string[];
      message?: string; integrity?: unknown }) => {
      if (message.type === "tags") {
        if (JSON.stringify(message.integrity) !== JSON.stringify([{ integrity_check: "ok" }])) {
          reject(new Error(`integrity_check: ${JSON.stringify(message.integrity)}`));
        }
        resolve(message.tags!);
      } else if (message.type === "ack") acked.push(message.tag!);
      else reject(new Error(`child failed: ${message.message}`));
    });
    child.on("exit", (code, signal) => reject(new Error(`child exited early: ${code} ${signal}`)));
  });
  return { child, tags, acked, ackCount: () => acked.length };
}

async function killAfterAcks(run: Run, acks: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (run.ackCount() < acks && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const exited = new Promise((resolve) => run.child.once("exit", resolve));
  process.kill(run.child.pid!, "SIGKILL");
  await exited;
}

function checkAcked(seed: number, round: number, tags: string[], acked: Set<string>): void {
  const present = new Set(tags);
  for (const tag of acked) {
    assert.ok(present.has(tag), `seed=${seed} round=${round}: acknowledged ${tag} lost`);
  }
}

test(`power cut at ${POWER_CUTS} random points: acknowledged commits survive, none half-applied`,
  { timeout: 240_000 }, async () => {
    const temp = tempDir("powercut");
    const prng = new Prng(SEED);
    const acked = new Set<string>();
    try {
      for (let round = 0; round < POWER_CUTS; round++) {
        const run = start(temp.dir, SEED * 1000 + round, "SIMPLE");
        checkAcked(SEED, round, await run.tags, acked);
        await killAfterAcks(run, 1 + prng.below(120));
        for (const tag of run.acked) acked.add(tag);
        powerCut(path.join(temp.dir, "databases", "crash"), prng);
      }
      const last = start(temp.dir, 0, "SIMPLE", true);
      checkAcked(SEED, POWER_CUTS, await last.tags, acked);
      await new Promise((resolve) => last.child.once("exit", resolve));
      assert.ok(acked.size > POWER_CUTS * 10, `only ${acked.size} acknowledged transactions`);
    } finally {
      temp.remove();
    }
  });

test("SIGKILL of a real child process loses no acknowledged commit", { timeout: 120_000 }, async () => {
  const temp = tempDir("sigkill");
  const prng = new Prng(SEED + 1);
  const acked = new Set<string>();
  try {
    for (let round = 0; round < 8; round++) {
      const run = start(temp.dir, SEED * 1000 + round, "FULL");
      checkAcked(SEED, round, await run.tags, acked);
      await killAfterAcks(run, 20 + prng.below(200));
      for (const tag of run.acked) acked.add(tag);
    }
    const last = start(temp.dir, 0, "FULL", true);
    checkAcked(SEED, 8, await last.tags, acked);
    await new Promise((resolve) => last.child.once("exit", resolve));
  } finally {
    temp.remove();
  }
});
