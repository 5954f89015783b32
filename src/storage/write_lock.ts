// The database write lock. A session in an explicit transaction holds it exclusively, from
// its first write to the end of the transaction. Autocommit statements take it shared: the
// writer thread runs them one after another anyway, so several may be queued on it at once
// (pipelining: the writer never idles waiting for a round trip), but never while a transaction
// holds the writer, and a transaction waits until queued statements have run. Waiters are
// granted in arrival order (no starvation) and honour SET LOCK_TIMEOUT: -1 waits forever (SQL
// Server's default), 0 fails at once, n ms then error 1222.
import { SqlError } from "../errors/sql_error.js";
import { assert } from "../util/assert.js";

export type LockMode = "exclusive" | "statement";

interface Waiter {
  readonly owner: object;
  readonly mode: LockMode;
  readonly grant: () => void;
  timer: NodeJS.Timeout | null;
}

export class WriteLock {
  private holder: object | null = null;
  private statements = 0;
  private waiters: Waiter[] = [];

  /** Bound on queued requests: past it a request fails like a timeout instead of piling up. */
  constructor(private readonly waitersMax = 10_000) {}

  acquire(owner: object, lockTimeoutMs: number, mode: LockMode = "exclusive"): Promise<void> {
    assert(this.holder !== owner, "write lock taken twice by one owner");
    if (this.waiters.length === 0 && this.grantable(mode)) {
      this.take(owner, mode);
      return Promise.resolve();
    }
    if (lockTimeoutMs === 0 || this.waiters.length >= this.waitersMax) {
      return Promise.reject(new SqlError("LOCK_TIMEOUT"));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { owner, mode, grant: resolve, timer: null };
      if (lockTimeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new SqlError("LOCK_TIMEOUT"));
          this.grantWaiting(); // a removed exclusive waiter may have blocked statements
        }, lockTimeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  release(owner: object, mode: LockMode = "exclusive"): void {
    if (mode === "statement") {
      assert(this.statements > 0, "statement lock released but not held");
      this.statements--;
    } else {
      assert(this.holder === owner, "write lock released by a session that does not hold it");
      this.holder = null;
    }
    this.grantWaiting();
  }

  private grantable(mode: LockMode): boolean {
    return this.holder === null && (mode === "statement" || this.statements === 0);
  }

  private take(owner: object, mode: LockMode): void {
    if (mode === "statement") this.statements++;
    else this.holder = owner;
  }

  private grantWaiting(): void {
    while (this.waiters.length > 0 && this.grantable(this.waiters[0]!.mode)) {
      const next = this.waiters.shift()!;
      if (next.timer !== null) clearTimeout(next.timer);
      this.take(next.owner, next.mode);
      next.grant();
    }
  }
}
