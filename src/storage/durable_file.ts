// Small files that must survive a crash whole (control state, mirroring sessions, markers):
// written to a temporary name, fsynced, renamed over the old one, then the directory fsynced,
// so a crash leaves the old contents or the new, never a mix and never a lost rename.
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDirectory } from "../log/runtime/log_writer.js";

export function writeFileDurably(dir: string, name: string, contents: string): void {
  const file = path.join(dir, name);
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, "w");
  try {
    fs.writeSync(fd, contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDirectory(dir);
}

/** Removes the file (if present) and makes its removal durable. */
export function removeFileDurably(dir: string, name: string): void {
  fs.rmSync(path.join(dir, name), { force: true });
  fsyncDirectory(dir);
}
