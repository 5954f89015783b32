// Positioned writes with a few in flight at once: while the thread pool writes one frame, the
// event loop checksums the next and another thread reads the one after, so a backup or restore
// keeps the disk busy instead of alternating read, checksum and write. Each buffer must not
// change after it is handed over; the first failure is reported by the next call or drain().
import * as fs from "node:fs";
import { promisify } from "node:util";

const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
/** Start writeback after this many bytes: the disk works while the next frames are built. */
const WRITEBACK_EVERY_BYTES = 64 * 1024 * 1024;

export class PositionedWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;
  private unsyncedBytes = 0;
  private writeback: Promise<void> | null = null;

  constructor(private readonly fd: number, private readonly limit = 4) {}

  /** Queues `parts` back to back at `position`; waits only while `limit` writes are running. */
  async write(parts: readonly Buffer[], position: number): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const running: Promise<void> = writeAll(this.fd, parts, position)
      .catch((error: Error) => { this.failure ??= error; })
      .finally(() => { this.inFlight.delete(running); });
    this.inFlight.add(running);
    this.unsyncedBytes += parts.reduce((sum, part) => sum + part.length, 0);
    if (this.unsyncedBytes >= WRITEBACK_EVERY_BYTES && this.writeback === null) {
      // Without it the kernel keeps gigabytes dirty and the final fsync writes them all at once.
      this.unsyncedBytes = 0;
      this.writeback = fdatasync(this.fd)
        .catch((error: Error) => { this.failure ??= error; })
        .finally(() => { this.writeback = null; });
    }
  }

  /** Waits for every queued write; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight, this.writeback]);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

async function writeAll(fd: number, parts: readonly Buffer[], position: number): Promise<void> {
  let offset = position;
  for (const part of parts) {
    let done = 0;
    while (done < part.length) {
      const { bytesWritten } = await write(fd, part, done, part.length - done, offset + done);
      done += bytesWritten;
    }
    offset += part.length;
  }
}
