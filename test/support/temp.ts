import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A fresh directory under the system temp dir; remove it with the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mirrorlite-${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
