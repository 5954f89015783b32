// One simulated partner: the real session machine (step) and a runtime around it that carries out
// the machine's effects in list order over a SimDisk, with the real record codec, the real
// log-stream codec, page_redo for redo and rewind.ts for the rewind. Everything the runtime
// does is synchronous; the simulator decides when each piece of work (sync, ship, redo, …) runs.
//
// Runtime decisions the machine leaves to the runtime, and why:
// - hardenLog drops log received but not hardened: the acknowledgement in the same step names
//   the hardened LSN, and the principal ships again from the next one.
// - A rewind journals its plan (fsync) before truncating the log, and fetches its pages from the
//   principal at the start of every connection until it has them: a crash or a cut connection
//   in the middle must not lose which pages are stale. A restart also finishes a role change the
//   crash interrupted before the rewind began (records after the failover LSN from an older
//   role sequence), since restoreSession forgets `rewinding`.
// - A redo that fetched pages newer than the redo point is consistent only once redo passes
//   the snapshot's LSN (consistentFromLsn, kept with the file).
// - A shipped record the mirror already holds is skipped if it is the same record: after RESUME
//   the principal may ship from an acknowledgement the mirror sent before it saw the RESUME.
// - Log that arrives while the mirror does not accept log is still decoded, so that both ends'
//   delta caches stay alike.
import { NO_WAL_POSITION, RecordFlags, alignUp, decodeHeader, encodeRecord, stampDurableLsn,
  type PageImage } from "../../log/record.js";
import { MirroringRole, MirroringState, SafetyLevel } from "../codes.js";
import { LogStreamDecoder, LogStreamEncoder, isDecodeError } from "../log_stream.js";
import { EMPTY_PAGE_MAP, pageOf, redoIntoPageMap, truncatePageMap, type PageMap } from "../page_redo.js";
import { pagesToFetch, rewindNeedsNoPages, rewindPlan, type RewindPlan } from "../rewind.js";
import { failoverDidNotHappen, inputFromPartner, restoreSession, step, type PartnerMessage, type PersistedSession,
  type SessionEffect, type SessionInput, type SessionState } from "../session.js";
import { CrashNow, check } from "./failure.js";
import type { Prng } from "../../util/prng.js";
import { SimDisk, decodeEntry, exactBytes, type CrashLoss, type LogEntry } from "./sim_disk.js";
import type { Connection, Payload, Side } from "./sim_net.js";
import type { StatName } from "./stats.js";

export const PAGE_SIZE = 512;
export const MIN_PAGES = 4;
export const MAX_PAGES = 24;
/** Effects where the simulator crashes a partner more often (role changes are where crashes hurt). */
const ROLE_CHANGES = new Set<SessionEffect["kind"]>(["becomeMirror", "becomePrincipal", "disconnectUsers"]);
/** Small on purpose: the delta cache evicts, and both ends must evict alike. */
const CACHE_PAGES = 8;

/** A commit whose client waits for its acknowledgement. */
export interface PendingCommit {
  readonly lsn: number;
  readonly id: number;
  readonly pages: readonly PageImage[];
}

/** What a partner needs from the simulated world. */
export interface PartnerPort {
  /** Queue a payload on the partner's connection (dropped if there is none or it is dead). */
  send(from: SimPartner, payload: Payload): void;
  /** The machine gave the connection up: the runtime closes it. */
  close(from: SimPartner): void;
  /** Clients may be told their commits up to `lsn` are committed (state: after the step). */
  acknowledge(from: SimPartner, lsn: number, state: SessionState): void;
  /** A step was carried out completely (the simulator may run its own acknowledgement rule). */
  stepped(from: SimPartner, state: SessionState): void;
  /** Whether to crash the partner before its next effect (or step of a role change). */
  crashPoint(from: SimPartner, roleChange: boolean): boolean;
  /** A machine rule fired (its `log` effect). */
  fired(from: SimPartner, rule: string): void;
  note(from: SimPartner, what: string): void;
  count(stat: StatName): void;
}

export class SimPartner {
  readonly disk = new SimDisk();
  up = true;
  machine: SessionState;
  /** The database file as the runtime sees it (the principal's live pages; the mirror's redo target). */
  db: PageMap = EMPTY_PAGE_MAP;
  conn: Connection | null = null;
  /** Mirror: log blocks are appended (hardenLog was carried out on this connection). */
  accepting = false;
  /** Principal: the next LSN the log shipper sends; null when not shipping. */
  shipNext: number | null = null;
  /** A rewind that still waits for the principal's pages. */
  rewind: RewindPlan | null = null;
  consistentFromLsn = 0;
  pending: PendingCommit[] = [];
  /** Local completions not yet reported to the machine. */
  localEvents: SessionInput[] = [];
  /** Ids of connections this runtime learned are broken (a reset), not yet acted on. */
  notices: number[] = [];
  private readonly encoder = new LogStreamEncoder({ cachePages: CACHE_PAGES });
  private readonly decoder = new LogStreamDecoder({ cachePages: CACHE_PAGES });

  constructor(readonly name: string, readonly side: Side, private readonly port: PartnerPort, machine: SessionState) {
    this.machine = machine;
  }

  // ---- The machine ----

  apply(input: SessionInput): void {
    const result = step(this.machine, input);
    this.machine = result.state;
    for (const effect of result.effects) {
      if (effect.kind !== "log" && this.port.crashPoint(this, ROLE_CHANGES.has(effect.kind))) throw new CrashNow(this.name);
      this.carryOut(effect, result.state);
    }
    if (this.conn !== null && !this.machine.connected) this.port.close(this);
    this.settleHandover();
    this.port.stepped(this, result.state);
  }

  /**
   * SET PARTNER FAILOVER as the runtime runs it (PartnerSession.failover): a command the machine
   * will take persists the failover intent first, so a crash after the FAILOVER left cannot
   * bring this principal back serving while its partner may already be principal.
   */
  requestFailover(): void {
    const trial = step(this.machine, { kind: "failover" });
    if (!trial.effects.some((effect) => effect.kind === "refuse")) {
      if (this.port.crashPoint(this, true)) throw new CrashNow(this.name);
      this.disk.failoverIntent = true;
    }
    this.apply({ kind: "failover" });
  }

  /** Whether this partner lets users in as principal (PartnerSession.blocksUsers, the machine's role and state). */
  get serving(): boolean {
    return this.up && this.machine.role === MirroringRole.PRINCIPAL && !this.disk.failoverIntent
      && this.machine.state !== MirroringState.PENDING_FAILOVER;
  }

  /**
   * As PartnerSession drops the intent: once this partner is the mirror (becomeMirror), or when
   * the failover did not happen (settleHandover).
   */
  private settleHandover(): void {
    if (this.machine.role === MirroringRole.MIRROR || failoverDidNotHappen(this.machine)) this.disk.failoverIntent = false;
  }

  private carryOut(effect: SessionEffect, state: SessionState): void {
    switch (effect.kind) {
      case "log": return this.port.fired(this, effect.rule);
      case "persist": this.disk.session = effect.session; return;
      case "send": return this.sendMessage(effect.message);
      case "shipLogFrom":
        check(effect.lsn <= this.disk.durable + 1, () => `${this.name} ships from ${effect.lsn}, beyond its durable log`);
        this.shipNext = effect.lsn;
        return;
      case "stopShipping": this.shipNext = null; return;
      case "hardenLog": this.accepting = true; this.disk.dropUnsynced(); return;
      case "acknowledgeCommitsUpTo": return this.port.acknowledge(this, effect.lsn, state);
      case "disconnectUsers": this.pending = []; return;
      case "becomePrincipal": return this.becomePrincipal(state);
      case "becomeMirror": return this.startRewind(effect.rewindToLsn);
      case "removeSession": return;
      case "refuse": return this.port.note(this, `refused ${effect.number}`);
    }
  }

  private sendMessage(message: PartnerMessage): void {
    checkAnnounced(this.name, this.disk.session, message);
    if (message.kind === "ackHardened") {
      check(message.lsn <= this.disk.durable, () => `${this.name} acknowledges ${message.lsn} before hardening it`);
    }
    this.port.send(this, { kind: "msg", message });
  }

  // ---- Connections ----

  attach(conn: Connection): void {
    this.conn = conn;
    this.encoder.reset();
    this.decoder.reset();
    this.accepting = false;
    this.shipNext = null;
  }

  /** Drop the connection without telling the machine (it already let go). */
  release(): void {
    this.conn = null;
    this.accepting = false;
    this.shipNext = null;
  }

  /** The runtime learned the connection is gone: a hard error for the machine. */
  detach(): void {
    this.release();
    if (this.machine.connected) this.apply({ kind: "disconnected" });
  }

  receive(payload: Payload): void {
    switch (payload.kind) {
      case "eof": return this.detach();
      case "msg": return this.apply(inputFromPartner(payload.message));
      case "block": return this.receiveBlock(payload.block);
      case "pageRequest": return this.answerPageRequest(payload.plan);
      case "pageReply": return this.receivePages(payload);
    }
  }

  // ---- Principal: commits and shipping ----

  canCommit(): boolean {
    return this.up && this.machine.role === MirroringRole.PRINCIPAL && this.machine.state !== MirroringState.PENDING_FAILOVER;
  }

  /** One transaction by a client of this principal; its client waits for the acknowledgement. */
  commit(prng: Prng, now: number): void {
    const end = this.disk.end;
    const entry = this.appendRecord(transactionRecord(end + 1, this.machine.roleSequence, now,
      newTransaction(this.db, prng), this.disk.durable));
    this.db = redoIntoPageMap(this.db, entry.header, entry.pages);
    this.pending.push({ lsn: entry.header.lsn, id: entry.id, pages: entry.pages });
  }

  private appendRecord(bytes: Buffer): LogEntry {
    const entry = decodeEntry(bytes, this.disk.log.at(-1));
    check(typeof entry !== "string", () => `${this.name}: record does not continue the log: ${String(entry)}`);
    this.disk.append(entry);
    return entry;
  }

  /** Group commit: one fsync covers everything written; the machine hears the new durable end. */
  sync(): void {
    if (this.disk.durable === this.disk.end) return;
    const lsn = this.disk.sync();
    const s = this.machine;
    if (s.role === MirroringRole.PRINCIPAL && lsn > s.localDurableLsn) this.apply({ kind: "localDurable", lsn });
    else if (s.role === MirroringRole.MIRROR && !s.rewinding && lsn > s.hardenedLsn) this.apply({ kind: "hardened", lsn });
  }

  canShip(): boolean {
    const sent = this.machine.sentLsn;
    return this.up && this.shipNext !== null && sent !== null && this.conn !== null && this.conn.alive
      && this.shipNext <= Math.min(sent, this.disk.durable);
  }

  /** Ships up to `count` records the machine handed to the shipper, one wire block each. */
  ship(count: number): void {
    const sent = this.machine.sentLsn;
    if (!this.canShip() || sent === null) return;
    check(sent <= this.disk.durable, () => `${this.name} hands LSN ${sent} to the shipper before it is durable`);
    for (let n = 0; n < count && this.shipNext! <= sent; n++) {
      const entry = this.disk.log[this.shipNext! - 1]!;
      this.port.send(this, { kind: "block", block: this.encoder.encode(exactBytes(entry)) });
      this.shipNext!++;
      this.port.count("blocksShipped");
    }
  }

  // ---- Mirror: hardening and redo ----

  private receiveBlock(block: Buffer): void {
    // Decode every block, kept or not: both ends' delta caches must see the same records.
    const record = this.decoder.decode(block);
    check(!isDecodeError(record), () => `${this.name}: log stream: ${isDecodeError(record) ? record.reason : ""}`);
    if (isDecodeError(record)) return;
    if (!this.accepting || this.machine.role !== MirroringRole.MIRROR || this.machine.rewinding) {
      this.port.count("blocksDropped");
      return;
    }
    const header = decodeHeader(record);
    check(typeof header !== "string", () => `${this.name}: shipped record has a bad header`);
    if (typeof header === "string") return;
    const held = this.disk.log[header.lsn - 1];
    if (held !== undefined) {
      // Shipping restarted below our end (a stale acknowledgement): the same record again is harmless.
      check(held.id === record.readUInt32LE(84), () => `${this.name}: shipped record ${header.lsn} differs from ours`);
      this.port.count("duplicatesSkipped");
      this.port.note(this, `already holds ${header.lsn}`);
      return;
    }
    check(header.lsn === this.disk.end + 1, () => `${this.name}: log gap: got ${header.lsn} after ${this.disk.end}`);
    const padded = Buffer.alloc(alignUp(record.length));
    record.copy(padded);
    this.appendRecord(padded);
  }

  canRedo(): boolean {
    const s = this.machine;
    return this.up && s.role === MirroringRole.MIRROR && !s.rewinding && this.rewind === null && s.redoneLsn < s.hardenedLsn;
  }

  /** Redo up to `count` hardened records into the file, then tell the machine. */
  redo(count: number): void {
    if (!this.canRedo()) return;
    const from = this.machine.redoneLsn;
    const target = Math.min(this.machine.hardenedLsn, from + count);
    for (let lsn = from + 1; lsn <= target; lsn++) {
      const entry = this.disk.log[lsn - 1]!;
      this.db = redoIntoPageMap(this.db, entry.header, entry.pages);
    }
    this.apply({ kind: "redone", lsn: target });
  }

  /** Checkpoint: only log that is durable is ever in the file. */
  checkpoint(): void {
    if (!this.up || this.disk.durable !== this.disk.end) return;
    const s = this.machine;
    if (s.role === MirroringRole.PRINCIPAL) this.disk.checkpoint(this.db, this.disk.end, this.consistentFromLsn);
    else if (!s.rewinding && this.rewind === null) this.disk.checkpoint(this.db, s.redoneLsn, this.consistentFromLsn);
  }

  // ---- Role changes ----

  private becomePrincipal(state: SessionState): void {
    this.accepting = false;
    // The principal stops shipping at the failover LSN, which we hardened: nothing lies beyond it.
    check(this.disk.end === state.localDurableLsn,
      () => `${this.name} takes over at ${state.localDurableLsn} with ${this.disk.end} records hardened`);
    check(this.consistentFromLsn <= this.disk.end, () => `${this.name} takes over before its file is consistent`);
    this.localEvents.push({ kind: "roleChangeDurable" });
    this.port.count("failovers");
  }

  /** becomeMirror: journal the plan, truncate the log to F, then fetch the pages (DESIGN.md §5). */
  private startRewind(failoverLsn: number): void {
    this.accepting = false;
    this.shipNext = null;
    check(failoverLsn <= this.disk.durable, () => `${this.name} rewinds to ${failoverLsn} beyond its durable log`);
    const plan = rewindPlan(failoverLsn, this.disk.log.slice(failoverLsn));
    if (rewindNeedsNoPages(plan)) {
      this.localEvents.push({ kind: "roleChangeDurable" });
      return;
    }
    this.disk.journal = plan;
    if (this.port.crashPoint(this, true)) throw new CrashNow(this.name);
    this.disk.truncate(failoverLsn);
    this.awaitPages(plan);
    this.port.count("rewinds");
  }

  private awaitPages(plan: RewindPlan): void {
    this.rewind = plan;
    this.consistentFromLsn = Number.POSITIVE_INFINITY;
    this.requestPages();
  }

  /** At the start of every connection while a rewind waits, and when it begins. */
  requestPages(): void {
    if (this.rewind !== null && this.conn !== null) this.port.send(this, { kind: "pageRequest", plan: this.rewind });
  }

  /** The principal reads its pages at its durable end: a snapshot no crash can take back. */
  private answerPageRequest(plan: RewindPlan): void {
    if (this.machine.role !== MirroringRole.PRINCIPAL || this.disk.durable < plan.failoverLsn) return;
    const snapshotLsn = this.disk.durable;
    const image = this.disk.imageAt(snapshotLsn);
    this.port.send(this, { kind: "pageReply", failoverLsn: plan.failoverLsn, snapshotLsn,
      pgnos: pagesToFetch(plan, image.sizePages), image });
  }

  private receivePages(reply: Extract<Payload, { kind: "pageReply" }>): void {
    const plan = this.rewind;
    if (plan === null || plan.failoverLsn !== reply.failoverLsn) return;
    check(this.disk.end === plan.failoverLsn, () => `${this.name} took log while its rewind waited for pages`);
    const pages = new Map(this.db.pages);
    for (const pgno of reply.pgnos) {
      const data = reply.image.pages.get(pgno);
      if (data === undefined) pages.delete(pgno);
      else pages.set(pgno, data);
    }
    this.db = truncatePageMap({ pages, sizePages: reply.image.sizePages }, reply.image.sizePages);
    // The file now holds pages as of the snapshot: redo from F makes it consistent past snapshotLsn.
    this.disk.checkpoint(this.db, plan.failoverLsn, reply.snapshotLsn);
    this.disk.journal = null;
    this.rewind = null;
    this.consistentFromLsn = reply.snapshotLsn;
    if (this.machine.rewinding) this.localEvents.push({ kind: "roleChangeDurable" });
    this.port.note(this, `rewound to ${plan.failoverLsn}, pages as of ${reply.snapshotLsn}`);
  }

  // ---- Crash and restart ----

  crash(prng: Prng): CrashLoss {
    const loss = this.disk.crash(prng);
    this.up = false;
    this.release();
    this.pending = [];
    this.localEvents = [];
    this.notices = [];
    this.rewind = null;
    return loss;
  }

  /** Startup recovery: log to its last valid record, interrupted rewind, redo, then the session. */
  restart(): void {
    if (this.disk.recover()) this.port.count("tornTails");
    const session = this.disk.session;
    check(session !== null, () => `${this.name} restarts without a session record`);
    if (session.role === MirroringRole.MIRROR) this.finishInterruptedRewind(session);
    const { image, checkpointLsn, consistentFromLsn } = this.disk.file;
    let db = image;
    if (checkpointLsn <= this.disk.end) {
      for (let lsn = checkpointLsn + 1; lsn <= this.disk.end; lsn++) {
        const entry = this.disk.log[lsn - 1]!;
        db = redoIntoPageMap(db, entry.header, entry.pages);
      }
    } else {
      check(this.disk.journal !== null, () => `${this.name}: checkpoint ${checkpointLsn} beyond the log's end ${this.disk.end}`);
    }
    this.db = db;
    this.consistentFromLsn = consistentFromLsn;
    this.rewind = null;
    if (this.disk.journal !== null) {
      this.rewind = this.disk.journal;
      this.consistentFromLsn = Number.POSITIVE_INFINITY;
    }
    this.machine = restoreSession(session, { endOfLogLsn: this.disk.end });
    this.up = true;
  }

  private finishInterruptedRewind(session: PersistedSession): void {
    const journal = this.disk.journal;
    if (journal !== null) {
      this.disk.truncate(journal.failoverLsn);
      return;
    }
    const after = this.disk.log.slice(session.failoverLsn);
    const stale = after.filter((entry) => entry.header.epoch < session.roleSequence);
    if (stale.length === 0) return;
    check(stale.length === after.length, () => `${this.name}: two histories after the failover LSN`);
    this.disk.journal = rewindPlan(session.failoverLsn, after);
    this.disk.truncate(session.failoverLsn);
    this.port.count("rewindsAtRestart");
  }

  // ---- Setup ----

  /** A restored copy: this log, fsynced, and the file checkpointed at `checkpointLsn`. */
  seed(records: readonly Buffer[], checkpointLsn: number): void {
    for (const bytes of records) this.appendRecord(bytes);
    this.disk.sync();
    this.disk.checkpoint(this.disk.imageAt(checkpointLsn), checkpointLsn, 0);
    this.db = this.disk.imageAt(this.disk.end);
  }

  isQuiet(): boolean {
    return this.disk.durable === this.disk.end && this.localEvents.length === 0 && this.notices.length === 0
      && !this.canShip() && !this.canRedo() && this.rewind === null;
  }

  /** SAFETY FULL and SYNCHRONIZED (or handing over): acknowledgements wait for the mirror. */
  waitsForMirror(): boolean {
    const s = this.machine;
    return s.safety === SafetyLevel.FULL
      && (s.state === MirroringState.SYNCHRONIZED || s.state === MirroringState.PENDING_FAILOVER);
  }
}

export interface Transaction {
  readonly flags: number;
  readonly pages: readonly PageImage[];
  readonly sizePages: number;
}

/** A few pages changed a little (so deltas and the cache matter), sometimes a resize. */
export function newTransaction(db: PageMap, prng: Prng): Transaction {
  const sizePages = prng.chance(6) ? MIN_PAGES + prng.below(MAX_PAGES - MIN_PAGES + 1) : db.sizePages;
  const chosen = new Set<number>();
  for (let n = 1 + prng.below(3); n > 0; n--) chosen.add(1 + prng.below(sizePages));
  if (sizePages > db.sizePages && prng.chance(50)) chosen.add(sizePages);
  const pages = [...chosen].sort((a, b) => a - b).map((pgno) => ({ pgno, data: mutated(pageOf(db, pgno), prng) }));
  return { flags: RecordFlags.FIRST | RecordFlags.LAST, pages, sizePages };
}

/** The whole database at creation: the log's first record, from which it can be rebuilt. */
export function baseImage(prng: Prng, sizePages: number): Transaction {
  const pages = Array.from({ length: sizePages }, (_, i) => ({ pgno: i + 1, data: prng.bytes(PAGE_SIZE) }));
  return { flags: RecordFlags.BASE_IMAGE | RecordFlags.FIRST | RecordFlags.LAST, pages, sizePages };
}

/** Encodes a transaction as the log writer does, stamped with the durable LSN it was written after. */
export function transactionRecord(lsn: number, epoch: number, now: number, txn: Transaction, durableLsn: number): Buffer {
  const record = encodeRecord({ flags: txn.flags, epoch, pageSize: PAGE_SIZE, lsn, prevLsn: lsn - 1,
    dbSizePages: txn.sizePages, wal: NO_WAL_POSITION, commitTimeMs: now * 1000, pages: txn.pages });
  stampDurableLsn(record, lsn, durableLsn);
  return record;
}

/** A new image: the old one with a run or two of bytes changed, now and then a whole new page. */
function mutated(base: Uint8Array | undefined, prng: Prng): Uint8Array {
  if (prng.chance(8)) return prng.bytes(PAGE_SIZE);
  const data = base === undefined ? new Uint8Array(PAGE_SIZE) : new Uint8Array(base);
  for (let runs = 1 + prng.below(2); runs > 0; runs--) {
    const at = prng.below(PAGE_SIZE);
    const bytes = prng.bytes(1 + prng.below(12));
    data.set(bytes.subarray(0, Math.min(bytes.length, PAGE_SIZE - at)), at);
  }
  return data;
}

/** Persist before announce: an announcing message carries exactly what the disk already holds. */
function checkAnnounced(name: string, durable: PersistedSession | null, m: PartnerMessage): void {
  if (m.kind === "off") check(durable === null, () => `${name} announced OFF before persisting it`);
  if (m.kind === "ping" || m.kind === "ackHardened" || m.kind === "off") return;
  check(durable !== null, () => `${name} sent ${m.kind} with no session persisted`);
  const announced: Record<string, unknown> = { ...m };
  delete announced["kind"];
  if (m.kind === "suspend" || m.kind === "resume") announced["isSuspended"] = m.kind === "suspend";
  const held = durable as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(announced)) {
    check(held[field] === value, () => `${name} announced ${m.kind}.${field}=${String(value)} before persisting it`);
  }
}
