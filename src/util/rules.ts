// Decision tables as data (STYLE.md L4): each rule has a stable id, a pattern over one input
// snapshot, a decision and a why. Rules are disjoint: exactly one matches any valid view, which
// decide() asserts on every lookup and tests check exhaustively, so row order carries no meaning.
import { assert } from "./assert.js";

/** A pattern lists, per field, the values it matches; a missing field matches any value. */
export type Pattern<View> = { readonly [K in keyof View]?: readonly View[K][] };

export interface Rule<View, Decision> {
  readonly id: string;
  readonly when: Pattern<View>;
  readonly decision: Decision;
  readonly why: string;
}

export function matches<View extends object>(pattern: Pattern<View>, view: View): boolean {
  for (const key of Object.keys(pattern) as (keyof View)[]) {
    if (!pattern[key]!.includes(view[key])) return false;
  }
  return true;
}

/** The one rule matching the view; a view matched by none or several is a bug in the table. */
export function decide<View extends object, Decision>(table: string,
  rules: readonly Rule<View, Decision>[], view: View): Rule<View, Decision> {
  const matching = rules.filter((rule) => matches(rule.when, view));
  assert(matching.length === 1, `${matching.length} ${table} rules match ${JSON.stringify(view)}`);
  return matching[0]!;
}

