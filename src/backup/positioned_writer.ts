// Positioned writes with a few in flight at once: while the thread pool writes one frame, the
// event loop checksums the next and another thread reads the one after, so a backup or restore
// keeps the disk busy instead of alternating read, checksum and write. Each buffer must not
// change after it is handed over; the first failure is reported by the next call or drain().
import * as fs from "node:fs";
import { promisify } from "node:util";

const write = promisify(fs.write);

export class PositionedWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;

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
  }

  /** Waits for every queued write; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
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
