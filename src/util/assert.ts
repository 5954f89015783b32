/** Thrown only for programmer errors (broken invariants), never for operating errors. */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

/** Always-on assertion: a broken invariant crashes so that nothing wrong is acknowledged. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
