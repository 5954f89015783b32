// Summarises the V8 CPU profiles `node --cpu-prof` writes (one per thread), e.g. those of
// `BENCH_CPU_PROF=dir node dist/bench/roundtrips.js`: per thread, busy time split by where the
// code lives (the server's subsystems under src/, Node's internals, native code, GC), and the
// functions with the most self time. FROM and TO (seconds since the profile started) keep only
// the steady state, without start-up and shutdown.
// Usage: node dist/bench/profile_summary.js DIR [TOP] [FROM TO].
import * as fs from "node:fs";
import * as path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Where a frame's code lives: a src/ or bench/ subsystem, a Node internal module, or V8's bins. */
function category(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName === "(idle)" || functionName === "(program)" || functionName === "(garbage collector)") {
      return functionName;
    }
    return "(native)";
  }
  const own = /\/dist\/(src\/[^/]+|bench)\//.exec(url);
  if (own !== null) return own[1]!;
  if (url.includes("/node_modules/")) return `npm:${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]}`;
  if (url.startsWith("node:")) return url.replace(/^node:(internal\/)?/, "node:").split("/").slice(0, 2).join("/");
  return url;
}

function summarise(file: string, top: number, fromS: number, toS: number): void {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const fromUs = fromS * 1e6;
  const toUs = Math.min(toS * 1e6, profile.endTime - profile.startTime);
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= fromUs && at <= toUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const totalUs = toUs - fromUs;
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const where = category(frame);
    categories.set(where, (categories.get(where) ?? 0) + us);
    if (frame.functionName === "(idle)") continue;
    const name = frame.url === "" ? frame.functionName
      : `${frame.functionName || "(anonymous)"} ${path.basename(frame.url)}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const idle = (categories.get("(idle)") ?? 0);
  const busy = totalUs - idle;
  const pct = (us: number): string => `${((100 * us) / Math.max(busy, 1)).toFixed(1)}%`;
  console.log(`\n## ${path.basename(file)}: ${(totalUs / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(2)} s `
    + `(${((100 * busy) / totalUs).toFixed(0)}%)`);
  const sorted = (map: Map<string, number>): Array<[string, number]> =>
    [...map.entries()].filter(([name]) => name !== "(idle)").sort((a, b) => b[1] - a[1]);
  console.log(`by place: ${sorted(categories).slice(0, 14).map(([name, us]) => `${name} ${pct(us)}`).join(", ")}`);
  for (const [name, us] of sorted(functions).slice(0, top)) console.log(`  ${pct(us).padStart(6)}  ${name}`);
}

const [dir, top = "25", from = "0", to = "Infinity"] = process.argv.slice(2);
if (dir === undefined) {
  console.error("usage: node dist/bench/profile_summary.js DIR [TOP] [FROM TO]");
  process.exitCode = 2;
} else {
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith(".cpuprofile")).sort()) {
    summarise(path.join(dir, file), Number(top), Number(from), Number(to));
  }
}
