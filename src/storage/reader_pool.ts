// A small pool of reader threads shared by every database of the instance. A job goes to the
// least busy thread; a long query occupies one thread and leaves the others (and the writer,
// and the event loop) free.
import { WorkerChannel } from "./worker_channel.js";
import type { CatalogTable, ReaderReply, ReaderRequest } from "./reader_worker.js";

export class ReaderPool {
  private readonly threads: WorkerChannel<ReaderRequest, ReaderReply>[] = [];

  constructor(size: number, safeIntegers: boolean, onThreadLost: (error: Error) => void) {
    const script = new URL("./reader_worker.js", import.meta.url);
    for (let i = 0; i < Math.max(1, size); i++) {
      this.threads.push(new WorkerChannel<ReaderRequest, ReaderReply>(script, { safeIntegers },
        () => false, onThreadLost));
    }
  }

  run(dbPath: string, job: number, sql: string, params: unknown[],
    options: { catalog?: readonly CatalogTable[]; encode?: boolean } = {}): Promise<ReaderReply> {
    let best = this.threads[0]!;
    for (const thread of this.threads) if (thread.busy < best.busy) best = thread;
    return best.request((id) => ({ id, job, dbPath, sql, params, ...options }));
  }

  /** Closes every reader connection to one database (before it closes or is dropped). */
  async forget(dbPath: string): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.request((id) => ({
      id, job: 0, dbPath, sql: "", params: [], forget: true,
    }))));
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }
}
