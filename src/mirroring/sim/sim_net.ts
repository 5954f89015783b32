// The simulated network: one connection at a time between the two partners, like a TCP stream
// in each direction. Items arrive in the order sent (never reordered within a connection) after a
// seeded delay; loss is only ever a cut connection (everything in flight is gone). A side that
// closes the connection stops reading; what it already sent still arrives, followed by the end
// of the stream.
import type { PageMap } from "../page_redo.js";
import type { RewindPlan } from "../rewind.js";
import type { PartnerMessage } from "../session.js";

export type Side = 0 | 1;

export type Payload =
  | { readonly kind: "msg"; readonly message: PartnerMessage }
  /** One log record as a log-stream wire block (LogStreamEncoder). */
  | { readonly kind: "block"; readonly block: Buffer }
  /** A rewinding partner asks the principal for the pages of its rewind plan. */
  | { readonly kind: "pageRequest"; readonly plan: RewindPlan }
  /** The principal's pages at one durable LSN of its own (pages listed but absent are holes). */
  | { readonly kind: "pageReply"; readonly failoverLsn: number; readonly snapshotLsn: number;
      readonly pgnos: readonly number[]; readonly image: PageMap }
  /** The sender closed the connection after everything it sent before. */
  | { readonly kind: "eof" };

interface Item {
  readonly at: number;
  readonly payload: Payload;
}

export class Connection {
  alive = true;
  /** The side that closed; it reads nothing more. */
  closedBy: Side | null = null;
  private readonly queues: [Item[], Item[]] = [[], []];
  private readonly lastAt: [number, number] = [0, 0];

  constructor(readonly id: number) {}

  /** Queue for delivery to `to` no earlier than `at`, and never before what was sent earlier. */
  send(to: Side, payload: Payload, at: number): void {
    if (!this.alive || this.closedBy === to) return;
    const when = Math.max(at, this.lastAt[to]);
    this.lastAt[to] = when;
    this.queues[to].push({ at: when, payload });
  }

  /** The next item for `to`, if it has arrived by `now`. */
  peek(to: Side, now: number): Payload | undefined {
    const head = this.queues[to][0];
    return head !== undefined && head.at <= now ? head.payload : undefined;
  }

  shift(to: Side): void {
    this.queues[to].shift();
  }

  inFlight(): number {
    return this.queues[0].length + this.queues[1].length;
  }

  /** `side` closes: it stops reading; the other side reads what is in flight, then the end. */
  closeFrom(side: Side, now: number): void {
    if (!this.alive || this.closedBy !== null) return;
    const other: Side = side === 0 ? 1 : 0;
    this.send(other, { kind: "eof" }, now);
    this.closedBy = side;
    this.queues[side] = [];
  }

  /** The link is cut: nothing in flight arrives, and neither side is told. */
  kill(): void {
    this.alive = false;
    this.queues[0] = [];
    this.queues[1] = [];
  }
}
