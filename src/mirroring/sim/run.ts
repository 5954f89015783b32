// Command line of the mirroring simulator.
//   node dist/src/mirroring/sim/run.js --seeds N [--from S] [--steps K]   run seeds S … S+N-1
//   node dist/src/mirroring/sim/run.js --seed S [--steps K] --trace       replay one seed, a line per step
//   --broken-ack: acknowledge at local durability even in SAFETY FULL (the checkers must fail)
// Exit code 1 on the first failing seed, after printing it (its replay command included); 2 on bad usage.
import { SimFailure } from "./failure.js";
import { DEFAULT_STEPS, runSeed, type SimResult } from "./simulator.js";
import { newStats, type SimStats } from "./stats.js";

interface Args {
  readonly from: number;
  readonly seeds: number;
  readonly steps: number;
  readonly trace: boolean;
  readonly brokenAck: boolean;
}

const USAGE = "usage: run.js --seeds N [--from S] [--steps K] | --seed S [--steps K] [--trace] [--broken-ack]";

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--trace" || arg === "--broken-ack") flags.add(arg);
    else if (["--seeds", "--from", "--steps", "--seed"].includes(arg) && argv[i + 1] !== undefined) values.set(arg, argv[++i]!);
    else throw new UsageError(`unknown argument ${arg}`);
  }
  const number = (name: string, fallback: number): number => {
    const text = values.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`${name} needs a whole number`);
    return value;
  };
  const single = values.has("--seed");
  if (!single && !values.has("--seeds")) throw new UsageError("--seeds or --seed is required");
  return { from: single ? number("--seed", 1) : number("--from", 1), seeds: single ? 1 : number("--seeds", 1),
    steps: number("--steps", DEFAULT_STEPS), trace: flags.has("--trace"), brokenAck: flags.has("--broken-ack") };
}

function addStats(total: SimStats, seen: SimStats, result: SimResult): void {
  for (const key of Object.keys(total) as (keyof SimStats)[]) {
    total[key] += result.stats[key];
    if (result.stats[key] > 0) seen[key]++;
  }
}

function main(): number {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  const total = newStats();
  const seen = newStats();
  const started = performance.now();
  for (let seed = args.from; seed < args.from + args.seeds; seed++) {
    try {
      const result = runSeed({ seed, steps: args.steps, brokenAck: args.brokenAck,
        ...(args.trace ? { onTrace: (line: string) => console.log(line) } : {}) });
      addStats(total, seen, result);
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      console.error(error.message);
      if (error.cause instanceof Error && error.cause.stack !== undefined) console.error(error.cause.stack);
      console.error(`FAILED: seed ${seed}`);
      return 1;
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${args.seeds} seeds from ${args.from}, ${args.steps} steps each: all passed in ${seconds} s`);
  console.log("seeds that saw / total:");
  for (const key of Object.keys(total) as (keyof SimStats)[]) console.log(`  ${key}: ${seen[key]} / ${total[key]}`);
  return 0;
}

process.exitCode = main();
