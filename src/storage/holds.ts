// Log retention holds: each keeps every record from its LSN on. The log is truncated only
// before the lowest hold, and sys.databases.log_reuse_wait_desc names the hold that blocks it.
// Names are SQL Server's log_reuse_wait_desc values.

export type HoldName =
  | "CHECKPOINT" | "LOG_BACKUP" | "ACTIVE_BACKUP_OR_RESTORE" | "ACTIVE_TRANSACTION"
  | "DATABASE_MIRRORING" | "REPLICATION" | "DATABASE_SNAPSHOT_CREATION" | "OTHER_TRANSIENT";

export class HoldSet {
  private readonly named = new Map<HoldName, number>();
  private readonly extra = new Map<number, { name: HoldName; lsn: number }>();
  private nextId = 1;

  /** Sets the single hold of this name (checkpoint, log backup, mirroring). */
  set(name: HoldName, lsn: number): void {
    this.named.set(name, lsn);
  }

  has(name: HoldName): boolean {
    return this.named.has(name);
  }

  delete(name: HoldName): void {
    this.named.delete(name);
  }

  /** Adds one of possibly many holds of a kind (a running backup, a log reader); returns release. */
  add(name: HoldName, lsn: number): () => void {
    const id = this.nextId++;
    this.extra.set(id, { name, lsn });
    return () => { this.extra.delete(id); };
  }

  /** The LSN before which records may go (Infinity when nothing holds). */
  lowest(): number {
    let lowest = Infinity;
    for (const { lsn } of this.all()) lowest = Math.min(lowest, lsn);
    return lowest;
  }

  /** The hold that needs records at or before `lsn`, lowest first; null when none does. */
  blocking(lsn: number): HoldName | null {
    let found: { name: HoldName; lsn: number } | null = null;
    for (const hold of this.all()) {
      if (hold.lsn <= lsn && (found === null || hold.lsn < found.lsn)) found = hold;
    }
    return found?.name ?? null;
  }

  private *all(): Generator<{ name: HoldName; lsn: number }> {
    for (const [name, lsn] of this.named) yield { name, lsn };
    yield* this.extra.values();
  }
}
