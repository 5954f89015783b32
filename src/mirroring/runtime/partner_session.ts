// One mirrored database at run time: the pure session machine (src/mirroring/session.ts) driven
// by real events — the endpoint channel, the log's durable LSN, the mirror's hardening and redo,
// a tick timer — with its effects carried out in list order (docs/mirroring-state-machine.md):
// a persist is fsynced before any later effect, acknowledgements come last.
import type { MirroringChannel } from "../../endpoint/transport.js";
import type { Frame } from "../../endpoint/frames.js";
import type { MirrorliteDatabase } from "../../storage/database.js";
import type { ControlState } from "../../storage/control_file.js";
import { SqlError } from "../../errors/sql_error.js";
import { MirroringRole, SafetyLevel } from "../codes.js";
import { SessionDriver } from "../driver.js";
import { mirroringErrorName, type MirroringErrorNumber } from "../errors.js";
import { LogStreamDecoder, isDecodeError } from "../log_stream.js";
import { commitsWaitForMirror, computeView, failoverDidNotHappen, inputFromPartner, invalidReason, type PersistedSession,
  type SessionEffect, type SessionInput, type SessionState } from "../session.js";
import { decodeWire, encodeWire, WireError, type Hello, type MirrorStatus, type WireMessage } from "../wire.js";
import { MirrorLog } from "./mirror_log.js";
import { LOG_STREAM_CACHE_PAGES, LogShipper } from "./shipper.js";

/** What the instance does for a session: files, databases, users, the endpoint. */
export interface PartnerHost {
  readonly ticksPerSecond: number;
  persist(databaseName: string, session: PersistedSession | null): void;
  /** The ONLINE database (principal role), null when it is not open. */
  openDatabase(databaseName: string): MirrorliteDatabase | null;
  /** Opens the RESTORING database's log for hardening (mirror role). */
  openMirrorLog(databaseName: string, session: PartnerSession): MirrorLog;
  /** Our side of the handshake, for this database as it stands. */
  hello(databaseName: string): Hello;
  /** Dials the partner's endpoint (principal role); rejects with SqlError 1418. */
  dial(address: string): Promise<MirroringChannel>;
  disconnectUsers(databaseName: string): Promise<void>;
  /** Persists (fsync) or removes the marker of a failover this principal announced. */
  failoverIntent(databaseName: string, on: boolean): void;
  /** Mirror → principal at the failover LSN: recover the database onto a new fork and open it. */
  becomePrincipal(databaseName: string, mirrorLog: MirrorLog, failoverLsn: number): Promise<MirrorliteDatabase>;
  /** Principal → mirror: close the database under the write lock we hold; it is RESTORING after. */
  becomeMirror(databaseName: string, db: MirrorliteDatabase, lockOwner: object, failoverLsn: number): Promise<void>;
  /** The session is gone; a mirror's database stays RESTORING with this control state. */
  removed(databaseName: string, mirrorControl: ControlState | null): void;
  log(databaseName: string, text: string): void;
}

interface CommitWaiter { readonly lsn: number; readonly resolve: () => void }
interface Queued { readonly input: SessionInput; readonly done?: (refusal: SqlError | null) => void }

/**
 * Crash tests: MIRRORLITE_FAILPOINT kills this process (SIGKILL) at a moment of a role change:
 * crash-after-failover-sent just after the FAILOVER message left (the principal cannot know
 * whether it handed over); crash-before-become-principal / crash-before-become-mirror after the
 * new role is persisted and before the database follows it.
 */
const FAILPOINT = process.env.MIRRORLITE_FAILPOINT ?? "";
/** MIRRORLITE_TRACE_MIRRORING=1 logs every rule the machine takes (read once: process.env is slow). */
const TRACE = process.env.MIRRORLITE_TRACE_MIRRORING === "1";

function crashSoon(): void {
  // One turn of the event loop lets the message reach the socket; the answer cannot be read.
  setImmediate(() => process.kill(process.pid, "SIGKILL"));
}

const FROM_PARTNER = new Set<SessionInput["kind"]>(["messageFromPartner", "mirrorHardened", "failoverRequested"]);

/** How long the principal waits between attempts to reach a disconnected mirror. */
const REDIAL_INTERVAL_MS = 1000;

export class PartnerSession {
  private readonly driver: SessionDriver;
  private channel: MirroringChannel | null = null;
  private partnerHello: Hello | null = null;
  private db: MirrorliteDatabase | null = null;
  private shipper: LogShipper | null = null;
  private mirrorLog: MirrorLog | null = null;
  private decoder = new LogStreamDecoder({ cachePages: LOG_STREAM_CACHE_PAGES });
  private waiters: CommitWaiter[] = [];
  private queue: Queued[] = [];
  private pumping = false;
  private readonly ticker: NodeJS.Timeout;
  private dialing = false;
  /** The log backup chain LSN last sent on this channel (undefined: none sent yet). */
  private sentLogChain: number | null | undefined = undefined;
  private knownPartnerTds: string | null = null;
  /** A FAILOVER from here is under way or unresolved (persisted as the failover intent). */
  private handingOver: boolean;
  private lastDialMs = 0;
  private closed = false;
  /** The write lock held from a FAILOVER until the role change (no commit may slip in between). */
  private failoverLock: object | null = null;
  /** The mirror's redo progress as last reported (principal side, for views and counters). */
  mirrorStatus: MirrorStatus = { redoneLsn: 0, redoQueueBytes: 0 };
  /** Transaction delay (ms) and mirrored write transactions, for the performance counters. */
  readonly counters = { transactionDelayMs: 0, mirroredTransactions: 0 };

  constructor(state: SessionState, private readonly host: PartnerHost, handingOver = false) {
    this.driver = new SessionDriver(state);
    this.handingOver = handingOver;
    this.ticker = setInterval(() => this.onTick(), 1000 / host.ticksPerSecond);
    this.ticker.unref();
    this.attachRole();
  }

  get state(): SessionState { return this.driver.state; }
  get databaseName(): string { return this.driver.state.databaseName; }
  get partner(): Hello | null { return this.partnerHello; }
  /** The partner's TDS address as last learned (ENVCHANGE 13 at login; kept while disconnected). */
  get partnerTdsAddress(): string | null {
    return this.driver.state.role === MirroringRole.PRINCIPAL ? this.knownPartnerTds : null;
  }
  /** On a mirror: where the principal serves clients (ENVCHANGE 20 routing), null until learned. */
  get principalTdsAddress(): string | null {
    return this.driver.state.role === MirroringRole.MIRROR ? this.knownPartnerTds : null;
  }
  get connection(): MirroringChannel | null { return this.channel; }
  get shipperCounters() { return this.shipper?.counters ?? null; }
  get mirror(): MirrorLog | null { return this.mirrorLog; }
  get unsentBytes(): number { return this.shipper?.unsentBytes() ?? 0; }
  /** Redo queue in KB: the mirror's own, or what the mirror last reported to the principal. */
  get redoQueueKb(): number {
    const bytes = this.mirrorLog?.redoQueueBytes ?? this.mirrorStatus.redoQueueBytes;
    return Math.ceil(bytes / 1024);
  }

  /** An ALTER DATABASE … SET PARTNER input: resolves when its step ran, rejects with its refusal. */
  command(input: SessionInput): Promise<void> {
    return new Promise((resolve, reject) => {
      this.feed(input, (refusal) => (refusal === null ? resolve() : reject(refusal)));
    });
  }

  /**
   * Manual failover: users are disconnected and the write lock is taken first, so the failover
   * LSN is the end of the log and nothing commits after it.
   */
  async failover(): Promise<void> {
    const db = this.db;
    const trial = this.trialRefusal({ kind: "failover" });
    if (trial !== null || db === null) throw trial ?? new SqlError("DB_IN_TRANSITION", [this.databaseName]);
    await this.host.disconnectUsers(this.databaseName);
    const owner = {};
    await db.writeLock.acquire(owner, -1);
    this.failoverLock = owner;
    try {
      // The machine catches up with this durable LSN before it takes the failover input.
      await db.log.waitDurable(db.log.lastLsn);
      // The mirror keeps its log from our log backup chain, as it stands now (see sendLogChain).
      this.sendLogChain();
      // Durable before the mirror may hear of it: a principal that crashes after announcing the
      // failover must not serve again on restart until its partner says who is principal.
      this.host.failoverIntent(this.databaseName, true);
      this.handingOver = true;
      await this.command({ kind: "failover" });
    } catch (error) {
      this.abandonHandover();
      throw error;
    }
  }

  /** Users may not use the database while a failover from here is unresolved (952 / 4060). */
  get blocksUsers(): boolean {
    return this.handingOver;
  }

  /** The failover did not happen (refused, or the partner came back still our mirror): serve again. */
  private abandonHandover(): void {
    if (this.failoverLock !== null && this.db !== null) this.db.writeLock.release(this.failoverLock);
    this.failoverLock = null;
    if (this.handingOver) this.host.failoverIntent(this.databaseName, false);
    this.handingOver = false;
  }

  /** After each step: a principal back in a running state with its mirror has not handed over. */
  private settleHandover(): void {
    if (!this.handingOver || !failoverDidNotHappen(this.driver.state)) return;
    this.host.log(this.databaseName, "the partner is still the mirror: the failover did not happen, serving again.");
    this.abandonHandover();
  }

  /** A channel for this database: ours (dialed) or the partner's (accepted, HELLO already read). */
  attachChannel(channel: MirroringChannel, partnerHello: Hello | null): void {
    if (this.closed) {
      channel.close("session removed");
      return;
    }
    this.channel?.close("replaced by a newer connection");
    this.channel = channel;
    this.partnerHello = null;
    this.sentLogChain = undefined;
    this.decoder = new LogStreamDecoder({ cachePages: LOG_STREAM_CACHE_PAGES });
    channel.on("frame", (frame: Frame) => this.onFrame(channel, frame));
    channel.on("close", () => this.onChannelClosed(channel));
    this.send({ kind: "hello", hello: this.host.hello(this.databaseName) });
    if (partnerHello !== null) this.onHello(channel, partnerHello);
  }

  /** Instance shutdown or session removal: timers, channel, shipper, mirror log. */
  /** Returns the mirror database's control state once its redo is drained (null on a principal). */
  async close(): Promise<ControlState | null> {
    if (this.closed) return null;
    this.closed = true;
    clearInterval(this.ticker);
    this.channel?.close("session closed");
    this.detachRole();
    this.releaseWaiters();
    const control = await this.mirrorLog?.close() ?? null;
    this.mirrorLog = null;
    return control;
  }

  /** A commit of `lsn` may be reported to its client once this resolves (SAFETY FULL waits here). */
  private gate(lsn: number): Promise<void> | null {
    const state = this.driver.state;
    // Mirrored Write Transactions counts every commit the mirror's hardening covers, including
    // one whose acknowledgement already arrived with an earlier commit's.
    const waits = commitsWaitForMirror(state);
    if (waits) this.counters.mirroredTransactions++;
    // The caller waited for local durability: that is all a commit needs unless it waits for
    // the mirror too (the machine's acknowledgeableLsn rule, which this predicate is part of).
    if (!waits || lsn <= state.acknowledgedLsn || this.closed) return null;
    const started = Date.now();
    return new Promise((resolve) => {
      this.waiters.push({ lsn, resolve: () => {
        this.counters.transactionDelayMs += Date.now() - started;
        resolve();
      } });
    });
  }

  private releaseWaiters(upTo = Infinity): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((waiter) => waiter.lsn <= upTo);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.lsn > upTo);
    for (const waiter of ready) waiter.resolve();
  }

  /** Hooks for the role we hold now: the principal's database and shipper, or the mirror's log. */
  private attachRole(): void {
    const { role } = this.driver.state;
    if (role === MirroringRole.PRINCIPAL) {
      const db = this.host.openDatabase(this.databaseName);
      if (db === null) return;
      this.db = db;
      this.shipper = new LogShipper(db, (error) => {
        // The stream is reset by reconnecting: shipping restarts from what the mirror hardened.
        this.host.log(this.databaseName, `log shipping failed: ${error.message}; reconnecting`);
        this.channel?.close("log shipping failed");
      }, () => this.driver.state.safety === SafetyLevel.OFF);
      db.setCommitGate((lsn) => this.gate(lsn));
      db.holds.set("DATABASE_MIRRORING", this.driver.state.mirrorHardenedLsn + 1);
      this.refreshDurable();
    } else if (role === MirroringRole.MIRROR && this.mirrorLog === null) {
      const mirrorLog = this.host.openMirrorLog(this.databaseName, this);
      this.mirrorLog = mirrorLog;
      if (this.partnerHello?.role === MirroringRole.PRINCIPAL) mirrorLog.adoptForks(this.partnerHello.forks);
      // After a restart the machine learns where our log ends from the log itself (after a
      // role change, the rewind's completion tells it).
      if (this.driver.state.rewinding) return;
      if (mirrorLog.hardenedLsn > this.driver.state.hardenedLsn) this.feed({ kind: "hardened", lsn: mirrorLog.hardenedLsn });
      this.onRedone(mirrorLog.redoneLsn);
    }
  }

  private detachRole(): void {
    this.shipper?.close();
    this.shipper = null;
    if (this.db !== null) {
      this.db.setCommitGate(null);
      this.db.holds.delete("DATABASE_MIRRORING");
    }
    this.db = null;
  }

  /** The mirror has the log up to its hardened LSN: the log may be truncated below it, the send queue freed. */
  private noteMirrorHardened(): void {
    const lsn = this.driver.state.mirrorHardenedLsn;
    this.db?.holds.set("DATABASE_MIRRORING", lsn + 1);
    this.shipper?.hardened(lsn);
  }

  /** Mirror log callbacks (see MirrorliteHost.openMirrorLog). */
  onHardened(lsn: number): void { this.feed({ kind: "hardened", lsn }); }
  onRedone(lsn: number): void {
    if (lsn > this.driver.state.redoneLsn) this.feed({ kind: "redone", lsn });
  }

  /**
   * The machine learns of local durability lazily, not on every fsync (a step per group commit
   * was the largest per-commit cost of mirroring under SAFETY OFF). Before any other input it
   * first steps a localDurable to the log's durable LSN, so each decision sees the log as it
   * stands; the only decision that needs no other input, acknowledging a commit that does not
   * wait for the mirror, gate() makes from the same predicate. Records leave only once durable,
   * so a mirror's hardening never runs ahead of what the machine was told here.
   */
  private durableCatchUp(): Queued | null {
    if (this.db === null || this.driver.state.role !== MirroringRole.PRINCIPAL) return null;
    const lsn = this.db.log.durableLsn;
    return lsn > this.driver.state.localDurableLsn ? { input: { kind: "localDurable", lsn } } : null;
  }

  /** Brings the machine's view of local durability up to date (catalog views read it). */
  refreshDurable(): void {
    if (!this.pumping && this.durableCatchUp() !== null) void this.pump();
  }

  private feed(input: SessionInput, done?: (refusal: SqlError | null) => void): void {
    if (this.closed) {
      done?.(new SqlError("DB_IN_TRANSITION", [this.databaseName]));
      return;
    }
    this.queue.push(done === undefined ? { input } : { input, done });
    if (!this.pumping) void this.pump();
  }

  /** Steps the machine for each queued input and carries out its effects, strictly in order. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const next = this.durableCatchUp() ?? this.queue.shift();
        if (next === undefined) break;
        const { input, done } = next;
        if (this.violatesProtocol(input)) continue;
        this.driver.step(input);
        const effects = this.driver.ready();
        this.driver.advance();
        let refusal: SqlError | null = null;
        for (const effect of effects) {
          if (effect.kind === "refuse") {
            refusal = refusalOf(effect.number, input, this.databaseName);
            continue;
          }
          // Most effects finish at once; awaiting only real work keeps a step in one turn.
          const pending = this.carryOut(effect);
          if (pending !== undefined) await pending;
        }
        if (input.kind === "mirrorHardened") this.noteMirrorHardened();
        this.settleHandover();
        this.dropLostChannel();
        // SET PARTNER made this database a partner: hook up the principal's log or the mirror's.
        if (this.driver.state.role !== null && this.db === null && this.mirrorLog === null && !this.closed) this.attachRole();
        done?.(refusal);
      }
    } catch (error) {
      this.host.log(this.databaseName, `fatal: ${(error as Error).stack ?? String(error)}`);
      throw error;
    } finally {
      this.pumping = false;
    }
  }

  /**
   * A partner message the machine cannot take in its state (the partner broke the protocol, or
   * it raced a disconnect) drops the channel instead of reaching the machine's assertions: the
   * partner is authenticated, but input never crashes the server.
   */
  private violatesProtocol(input: SessionInput): boolean {
    if (!FROM_PARTNER.has(input.kind)) return false;
    const state = this.driver.state;
    const reason = invalidReason(computeView(state, input))
      ?? (input.kind === "mirrorHardened" && input.lsn > state.localDurableLsn ? "hardened beyond our durable log" : null);
    if (reason === null) return false;
    this.host.log(this.databaseName, `partner message ${input.kind} refused (${reason}); reconnecting`);
    const channel = this.channel;
    if (channel !== null && this.partnerHello !== null) {
      this.channel = null;
      this.partnerHello = null;
      this.shipper?.stop();
      channel.close("protocol violation");
      this.queue.unshift({ input: { kind: "disconnected" } });
    }
    return true;
  }

  /** The machine declared the partner lost (PARTNER TIMEOUT): the channel goes too (1479). */
  private dropLostChannel(): void {
    const state = this.driver.state;
    const channel = this.channel;
    if (state.connected || this.partnerHello === null || channel === null) return;
    this.host.log(this.databaseName, `Error: 1479, The mirroring connection to "${state.partnerAddress}" has timed out `
      + `for database "${this.databaseName}" after ${state.timeoutSeconds} seconds without a response.`);
    // Forgotten at once: the machine already counts the partner lost, so nothing more that
    // arrives on this channel may reach it (the close itself completes later).
    this.channel = null;
    this.partnerHello = null;
    this.shipper?.stop();
    channel.close("partner timeout");
  }

  private trialRefusal(input: SessionInput): SqlError | null {
    const probe = new SessionDriver(this.driver.state);
    probe.step(input);
    const refusal = probe.ready().find((effect) => effect.kind === "refuse");
    return refusal === undefined || refusal.kind !== "refuse" ? null
      : refusalOf(refusal.number, input, this.databaseName);
  }

  private carryOut(effect: SessionEffect): Promise<void> | void {
    switch (effect.kind) {
      case "persist": return this.host.persist(this.databaseName, effect.session);
      case "send":
        this.send({ kind: "session", message: effect.message });
        if (effect.message.kind === "failover" && FAILPOINT === "crash-after-failover-sent") crashSoon();
        return;
      case "shipLogFrom":
        if (this.channel !== null && this.shipper !== null) this.shipper.start(effect.lsn, this.channel);
        return;
      case "stopShipping": return this.shipper?.stop();
      case "hardenLog": return;
      case "acknowledgeCommitsUpTo": return this.releaseWaiters(effect.lsn);
      case "disconnectUsers": return this.host.disconnectUsers(this.databaseName);
      case "becomePrincipal":
        if (FAILPOINT === "crash-before-become-principal") process.kill(process.pid, "SIGKILL");
        return this.becomePrincipal();
      case "becomeMirror":
        if (FAILPOINT === "crash-before-become-mirror") process.kill(process.pid, "SIGKILL");
        return this.becomeMirror(effect.rewindToLsn);
      case "removeSession": return this.remove();
      case "log":
        if (TRACE) this.host.log(this.databaseName, `${effect.rule}: ${effect.why}`);
        return;
      case "refuse": return;
    }
  }

  private async becomePrincipal(): Promise<void> {
    const mirrorLog = this.mirrorLog!;
    this.mirrorLog = null;
    this.db = await this.host.becomePrincipal(this.databaseName, mirrorLog, this.driver.state.failoverLsn);
    this.attachRole();
    this.send({ kind: "hello", hello: { ...this.host.hello(this.databaseName), role: MirroringRole.PRINCIPAL } });
  }

  private async becomeMirror(failoverLsn: number): Promise<void> {
    const db = this.db!;
    const owner = this.failoverLock ?? {};
    if (this.failoverLock === null) await db.writeLock.acquire(owner, -1);
    this.failoverLock = null;
    this.detachRole();
    this.releaseWaiters();
    await this.host.becomeMirror(this.databaseName, db, owner, failoverLsn);
    if (this.handingOver) this.host.failoverIntent(this.databaseName, false);
    this.handingOver = false;
    this.attachRole();
    this.feed({ kind: "roleChangeDurable" });
  }

  /** SET PARTNER OFF: the mirror's redo is drained first, so RESTORE … WITH RECOVERY starts from all it hardened. */
  private async remove(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    // The OFF just sent must reach the partner before the channel closes.
    if (channel !== null) setTimeout(() => channel.close("mirroring removed"), 200).unref();
    const control = await this.close();
    this.host.removed(this.databaseName, control);
  }

  private send(message: WireMessage): void {
    const channel = this.channel;
    if (channel === null || channel.closed) return;
    try {
      void channel.send("DATA", encodeWire(message));
    } catch {
      channel.close("send queue overflow");
    }
  }

  private onFrame(channel: MirroringChannel, frame: Frame): void {
    if (channel !== this.channel) return;
    let message: WireMessage;
    try {
      message = decodeWire(frame.payload);
      this.onMessage(channel, message);
    } catch (error) {
      if (!(error instanceof WireError) && !(error instanceof Error && error.name === "MirrorLogError")) throw error;
      this.host.log(this.databaseName, `mirroring message refused: ${error.message}; reconnecting`);
      channel.close((error as Error).message);
    }
  }

  private onMessage(channel: MirroringChannel, message: WireMessage): void {
    switch (message.kind) {
      case "hello": return this.onHello(channel, message.hello);
      case "refuse":
        this.host.log(this.databaseName, `the partner refused the session: error ${message.refusal.number}`);
        channel.close("refused");
        return;
      case "session":
        if (this.partnerHello !== null) this.feed(inputFromPartner(message.message));
        return;
      case "resetStream":
        this.decoder = new LogStreamDecoder({ cachePages: LOG_STREAM_CACHE_PAGES });
        return;
      case "log": return this.onLog(message.blocks);
      case "status":
        this.mirrorStatus = message.status;
        return;
      case "logChain":
        this.mirrorLog?.holdLogChain(message.chain.lsn);
        return;
    }
  }

  /**
   * Principal: tells the mirror where the log backup chain continues whenever that changes (a
   * log or full backup here), so the mirror keeps its log from there and, after a failover,
   * BACKUP LOG on it continues the chain, as it does in SQL Server.
   */
  private sendLogChain(): void {
    const db = this.db;
    if (db === null || this.partnerHello === null || this.driver.state.role !== MirroringRole.PRINCIPAL) return;
    const lsn = db.logChainLsn;
    if (lsn === this.sentLogChain) return;
    this.sentLogChain = lsn;
    this.send({ kind: "logChain", chain: { lsn } });
  }

  private onHello(channel: MirroringChannel, hello: Hello): void {
    if (channel !== this.channel) return;
    if (this.partnerHello !== null) {
      // A new principal introduces itself again after a role change: its recovery forks now
      // include the one it started at the failover LSN, which the mirror must hold too.
      this.partnerHello = hello;
      this.knownPartnerTds = hello.tdsAddress;
      if (hello.role === MirroringRole.PRINCIPAL) this.mirrorLog?.adoptForks(hello.forks);
      return;
    }
    if (hello.role === null) {
      channel.close("the partner has no session for this database");
      return;
    }
    this.partnerHello = hello;
    this.knownPartnerTds = hello.tdsAddress;
    if (this.mirrorLog !== null && this.driver.state.role === MirroringRole.MIRROR) this.mirrorLog.adoptForks(hello.forks);
    this.feed({ kind: "connected", partnerInstanceGuid: hello.instanceGuid, partnerRole: hello.role,
      partnerRoleSequence: hello.roleSequence });
  }

  private onLog(blocks: readonly Buffer[]): void {
    const mirrorLog = this.mirrorLog;
    if (mirrorLog === null || this.driver.state.rewinding) throw new WireError("log arrived at a partner that is not a mirror");
    for (const block of blocks) {
      const record = this.decoder.decodeRecord(block);
      if (isDecodeError(record)) throw new WireError(`log block: ${record.reason}`);
      // After a reconnect the principal resends from what it knows is hardened; records we
      // already appended (same history, same bytes) are skipped, the rest must follow on.
      if (record.header.lsn <= mirrorLog.lastLsn) continue;
      mirrorLog.append(record);
    }
  }

  private onChannelClosed(channel: MirroringChannel): void {
    if (channel !== this.channel) return;
    this.channel = null;
    const wasConnected = this.partnerHello !== null;
    this.partnerHello = null;
    this.shipper?.stop();
    if (wasConnected) this.feed({ kind: "disconnected" });
  }

  private onTick(): void {
    const state = this.driver.state;
    this.feed({ kind: "tick" });
    this.sendLogChain();
    if (state.role === MirroringRole.MIRROR && this.mirrorLog !== null && this.channel !== null) {
      this.send({ kind: "status", status: { redoneLsn: this.mirrorLog.redoneLsn, redoQueueBytes: this.mirrorLog.redoQueueBytes } });
    }
    if (state.role === MirroringRole.PRINCIPAL && this.channel === null) void this.redial();
  }

  /** The principal reaches out to its mirror; the mirror waits to be reached. */
  private async redial(): Promise<void> {
    const address = this.driver.state.partnerAddress;
    if (this.dialing || address === null || Date.now() - this.lastDialMs < REDIAL_INTERVAL_MS) return;
    this.dialing = true;
    this.lastDialMs = Date.now();
    try {
      const channel = await this.host.dial(address);
      if (this.closed || this.channel !== null) channel.close("not needed");
      else this.attachChannel(channel, null);
    } catch {
      // Unreachable for now: the next tick tries again; the session stays DISCONNECTED.
    } finally {
      this.dialing = false;
    }
  }
}

function refusalOf(number: MirroringErrorNumber, input: SessionInput, databaseName: string): SqlError {
  return new SqlError(mirroringErrorName(number), input.kind === "timeout" ? [input.seconds] : [databaseName]);
}
