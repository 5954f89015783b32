// Loads the native "guard" SQLite extension (native/guard.c) into a connection.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type Database from "better-sqlite3";

let cachedPath: string | undefined;

/** Absolute path of native/build/guard.so. Works from src/ and from dist/src/. */
export function guardExtensionPath(): string {
  if (cachedPath !== undefined) return cachedPath;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("guard: package.json not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  cachedPath = join(dir, "native", "build", "guard.so");
  return cachedPath;
}

/**
 * Loads the guard into `db` and returns its process-wide connection id.
 * Set journal_mode (e.g. WAL) before calling: afterwards the guard forbids it.
 */
export function loadGuard(db: Database.Database): number {
  db.loadExtension(guardExtensionPath());
  const id: unknown = db.prepare("SELECT guard_connection_id()").pluck().get();
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) {
    throw new Error(`guard: unexpected connection id ${String(id)}`);
  }
  return id;
}
