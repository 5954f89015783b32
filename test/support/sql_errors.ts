// Shared assertions for the T-SQL parser tests.
import assert from "node:assert/strict";
import { SqlError } from "../../src/errors/sql_error.js";
import { errorLine } from "../../src/tsql/errors.js";

/** Asserts that `run` throws SqlError `number` (and `message`, `line` if given). */
export function assertThrowsSql(run: () => unknown, label: string, number: number, message?: string,
  line?: number): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SqlError, `SqlError expected, got ${String(error)}`);
    assert.equal(error.number, number, `${label}: ${error.message}`);
    if (message !== undefined) assert.equal(error.message, message);
    if (line !== undefined) assert.equal(errorLine(error), line);
    return true;
  });
}

/** The fields of `command` named in `expected`. */
export function pick(command: object, expected: object): object {
  const record = command as Record<string, unknown>;
  return Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
}
