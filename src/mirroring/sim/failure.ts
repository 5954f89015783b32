// How the simulator fails. A CheckFailure is a broken invariant seen by a checker or by the
// simulated runtime; a SimFailure wraps whatever went wrong with the seed and step that replay it.
export class CheckFailure extends Error {
  override readonly name = "CheckFailure";
}

export class SimFailure extends Error {
  override readonly name = "SimFailure";

  constructor(readonly seed: number, readonly step: number, readonly reason: string, readonly recent: readonly string[],
    options?: ErrorOptions) {
    super(`seed ${seed} failed at step ${step}: ${reason}\n` +
      `  replay: node dist/src/mirroring/sim/run.js --seed ${seed} --trace\n` +
      `  last steps:\n${recent.map((line) => `    ${line}`).join("\n")}`, options);
  }
}

/** Thrown between two effects to crash the partner there (the rest of the effects never happen). */
export class CrashNow extends Error {
  override readonly name = "CrashNow";

  constructor(readonly partner: string) {
    super(`crash of ${partner} between effects`);
  }
}

export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new CheckFailure(message());
}
