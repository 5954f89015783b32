// Small files that must survive a crash whole (control state, mirroring sessions, the master
// catalog, the server certificate, markers): written to a temporary name, fsynced, renamed over
// the old one, then the directory fsynced, so a crash leaves the old contents or the new, never
// a mix and never a lost rename.
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDirectory } from "../log/runtime/log_writer.js";

/** `mode`: the file's permissions (a private key's 0o600); the default leaves them to the umask. */
export function writeFileDurably(dir: string, name: string, contents: string, mode?: number): void {
  const file = path.join(dir, name);
  const temp = `${file}.tmp`;
  // A leftover temporary file would keep its old mode.
  if (mode !== undefined) fs.rmSync(temp, { force: true });
  const fd = fs.openSync(temp, "w", mode);
  try {
    fs.writeSync(fd, contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDirectory(dir);
}

/** writeFileDurably off the event loop: every step on the thread pool. */
export async function writeFileDurablyAsync(dir: string, name: string, contents: string): Promise<void> {
  const file = path.join(dir, name);
  const temp = `${file}.tmp`;
  const handle = await fs.promises.open(temp, "w");
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  const directory = await fs.promises.open(dir, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Removes the file (if present) and makes its removal durable. */
export function removeFileDurably(dir: string, name: string): void {
  fs.rmSync(path.join(dir, name), { force: true });
  fsyncDirectory(dir);
}
