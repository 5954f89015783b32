// One seeded generator drives every choice of a simulation or a test workload (faults, delays,
// operations), so a seed replays a run exactly: a splitmix-style mix of a Weyl sequence. Never
// Math.random where a run must replay.
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** 0 … limit-1. */
  below(limit: number): number {
    return this.next() % limit;
  }

  /** True with the given probability in percent (hundredths of a percent resolution). */
  chance(percent: number): boolean {
    return this.below(10_000) < Math.round(percent * 100);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from nothing");
    return items[this.below(items.length)]!;
  }

  /** One of the choices, with probability proportional to its (positive) weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.below(Math.max(1, Math.round(total * 100))) / 100;
    for (const [choice, weight] of choices) {
      if (roll < weight) return choice;
      roll -= weight;
    }
    return choices[choices.length - 1]![0];
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = this.next();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }
}
