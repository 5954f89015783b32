// Request/reply over a worker thread, matched by id. A worker that dies is an invariant
// violation for its owner (the writer) or a lost thread to replace (a reader): `onExit` decides.
import { Worker } from "node:worker_threads";

export class WorkerChannel<Request extends { id: number }, Reply extends { id: number }> {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void;
    reject: (error: Error) => void }>();
  private exited: Error | null = null;

  constructor(script: URL, workerData: unknown, onMessage: (message: unknown) => boolean,
    onExit: (error: Error) => void) {
    this.worker = new Worker(script, { workerData });
    this.worker.on("message", (message: Reply) => {
      if (onMessage(message)) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
    const die = (error: Error): void => {
      if (this.exited !== null) return;
      this.exited = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      onExit(error);
    };
    this.worker.on("error", die);
    this.worker.on("exit", (code) => die(new Error(`worker exited with code ${code}`)));
  }

  get busy(): number {
    return this.pending.size;
  }

  request(build: (id: number) => Request): Promise<Reply> {
    if (this.exited !== null) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(build(id));
    });
  }

  /** Sends a message that gets no reply. */
  post(message: unknown): void {
    if (this.exited === null) this.worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    this.exited ??= new Error("worker terminated");
    await this.worker.terminate();
  }
}
