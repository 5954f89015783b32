// The deterministic mirroring simulator: two partners (A, B) running the real session machine
// with a simulated runtime (sim_partner.ts) over lossy disks (sim_disk.ts) and a simulated
// network (sim_net.ts). One seeded Prng picks every step: deliver a message, commit, sync, ship,
// redo, checkpoint, tick, connect, cut the link, partition, crash (also between two effects),
// restart, and the admin commands SAFETY, SUSPEND, RESUME and FAILOVER (mostly where they apply,
// sometimes anywhere, so the refusals are exercised too). The checkers run after
// every step. At the end everything heals (restart, reconnect, no faults, RESUME) and the
// session must come back SYNCHRONIZED with equal logs and pages, and acknowledge a new commit.
// A failure throws a SimFailure naming the seed and step; the same seed replays it exactly.
import { MirroringRole, MirroringState, SafetyLevel } from "../codes.js";
import { EMPTY_PAGE_MAP, firstPageDifference, redoIntoPageMap } from "../page_redo.js";
import { createSession, type SessionInput, type SessionState } from "../session.js";
import { Checker } from "./checkers.js";
import { CheckFailure, CrashNow, SimFailure, check } from "./failure.js";
import { Prng } from "../../util/prng.js";
import { chainAt, decodeEntry, type LogEntry } from "./sim_disk.js";
import { Connection, type Payload, type Side } from "./sim_net.js";
import { SimPartner, baseImage, newTransaction, transactionRecord, type PartnerPort } from "./sim_partner.js";
import { newStats, type SimStats, type StatName } from "./stats.js";

export interface SimOptions {
  readonly seed: number;
  /** Random steps before healing. */
  readonly steps?: number;
  /** Keep a line per step (for the replay test); the last lines are kept anyway. */
  readonly trace?: boolean;
  /** Called with each step's line as it happens (--trace: a failing seed prints up to its failure). */
  readonly onTrace?: (line: string) => void;
  /**
   * A deliberately broken acknowledgement rule, to prove the checkers can fail: the runtime
   * ignores acknowledgeCommitsUpTo and acknowledges at local durability, even in SAFETY FULL.
   */
  readonly brokenAck?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly stats: SimStats;
  readonly trace: readonly string[];
  /** Ids of the machine rules that fired. */
  readonly rules: ReadonlySet<string>;
}

export const DEFAULT_STEPS = 300;
const RECENT_LINES = 40;
/** Percent chance of a crash before each effect a partner carries out … */
const MID_EFFECT_CRASH_PERCENT = 0.1;
/** … and before the steps of a role change, where an interrupted runtime is hardest to get right. */
const ROLE_CHANGE_CRASH_PERCENT = 4;
const HEAL_TICKS_MAX = 300;
const HEAL_STUCK_TICKS = 40;

export function runSeed(options: SimOptions): SimResult {
  return new Simulator(options).run();
}

type Action = "deliver" | "notice" | "local" | "commit" | "sync" | "ship" | "redo" | "tick" | "checkpoint"
  | "connect" | "cut" | "partition" | "heal" | "crash" | "restart" | "safety" | "suspend" | "resume"
  | "failover" | "redoError" | "anyAdmin";

class Simulator implements PartnerPort {
  private readonly prng: Prng;
  private readonly steps: number;
  private now = 0;
  private stepNo = 0;
  /** Setup and healing run without faults. */
  private healing = true;
  private linkHealthy = true;
  /** Weight of the commit action: the client load of the moment. */
  private load = 6;
  private nextConnectionId = 0;
  private readonly partners: readonly [SimPartner, SimPartner];
  private readonly checker: Checker;
  private readonly stats = newStats();
  private readonly trace: string[] = [];
  private readonly recent: string[] = [];
  private line: string[] = [];
  private readonly rules = new Set<string>();
  private readonly brokenAcked = new Map<string, number>();

  constructor(private readonly options: SimOptions) {
    this.prng = new Prng(options.seed);
    this.steps = options.steps ?? DEFAULT_STEPS;
    const unmirrored = createSession("db");
    this.partners = [new SimPartner("A", 0, this, unmirrored), new SimPartner("B", 1, this, unmirrored)];
    this.checker = new Checker(this.partners);
  }

  run(): SimResult {
    this.guarded(() => this.step("setup", () => this.setup()));
    this.healing = false;
    while (this.stepNo < this.steps) this.guarded(() => this.randomStep());
    this.guarded(() => this.heal());
    this.countExposedLoss();
    return { seed: this.options.seed, stats: { ...this.stats, steps: this.stepNo }, trace: this.trace, rules: this.rules };
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (error instanceof SimFailure) throw error;
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new SimFailure(this.options.seed, this.stepNo, reason, this.recent, { cause: error });
    }
  }

  /** One step: its work, its trace line, then every checker. A CrashNow crashes that partner here. */
  private step(what: string, work: () => void): void {
    this.stepNo++;
    this.line = [what];
    try {
      work();
    } catch (error) {
      if (!(error instanceof CrashNow)) throw error;
      this.crash(this.byName(error.partner), true);
    } finally {
      const text = `#${this.stepNo} t${this.now} ${this.line.join(" ")}`;
      this.recent.push(text);
      if (this.recent.length > RECENT_LINES) this.recent.shift();
      if (this.options.trace === true) this.trace.push(text);
      this.options.onTrace?.(text);
    }
    this.checkOneServes();
    this.checker.checkAll();
  }

  // ---- Setup: a principal and a mirror restored from an older copy of its log ----

  private setup(): void {
    const common = 1 + this.prng.below(4); // records both copies hold, the base image first
    const records: Buffer[] = [];
    let image = EMPTY_PAGE_MAP;
    let previous: LogEntry | undefined;
    for (let lsn = 1; lsn <= common + this.prng.below(6); lsn++) {
      const txn = lsn === 1 ? baseImage(this.prng, 12) : newTransaction(image, this.prng);
      records.push(transactionRecord(lsn, 1, 0, txn, lsn - 1));
      const entry = decodeEntry(records[lsn - 1]!, previous);
      check(typeof entry !== "string", () => `bad initial record: ${String(entry)}`);
      image = redoIntoPageMap(image, entry.header, entry.pages);
      previous = entry;
    }
    const [a, b] = this.partners;
    a.seed(records, 1 + this.prng.below(records.length));
    b.seed(records.slice(0, common), 1 + this.prng.below(common));
    b.machine = createSession("db", { endOfLogLsn: b.disk.end });
    a.machine = createSession("db", { endOfLogLsn: a.disk.end });
    b.apply({ kind: "setPartnerAsPrincipal", address: "TCP://a:5022" });
    a.apply({ kind: "setPartnerAsMirror", address: "TCP://b:5022", mirroringGuid: `mirroring-${this.options.seed}` });
    this.line.push(`A log ${a.disk.end}, B log ${b.disk.end}`);
  }

  // ---- Random steps ----

  private randomStep(): void {
    const action = this.prng.weighted(this.enabledActions());
    this.step(action, () => this.perform(action));
  }

  private enabledActions(): [Action, number][] {
    const up = this.partners.filter((p) => p.up);
    const principal = this.checker.currentPrincipal();
    const ps = principal?.machine;
    const choices: [Action, number][] = [];
    const add = (action: Action, weight: number, enabled: boolean): void => {
      if (enabled) choices.push([action, weight]);
    };
    add("deliver", 50, this.deliverable().length > 0);
    add("notice", 15, up.some((p) => p.notices.length > 0));
    add("local", 15, up.some((p) => p.localEvents.length > 0));
    add("commit", this.load, this.load > 0 && up.some((p) => p.canCommit()));
    add("sync", 18, up.some((p) => p.disk.durable < p.disk.end));
    add("ship", 18, up.some((p) => p.canShip()));
    add("redo", 10, up.some((p) => p.canRedo()));
    add("tick", 6, true);
    add("checkpoint", 1, up.length > 0);
    add("connect", 6, this.canConnect());
    add("cut", 0.3, this.liveConnection() !== null);
    add(this.linkHealthy ? "partition" : "heal", this.linkHealthy ? 0.1 : 4, true);
    add("crash", 0.2, up.length > 0);
    add("restart", 5, up.length < 2);
    add("safety", 0.6, ps?.connected === true);
    add("suspend", 0.2, up.some((p) => p.machine.connected));
    add("resume", 1.5, ps?.connected === true && ps.state === MirroringState.SUSPENDED);
    add("failover", 2, ps?.state === MirroringState.SYNCHRONIZED && ps.safety === SafetyLevel.FULL);
    add("anyAdmin", 0.4, up.length > 0);
    add("redoError", 0.05, up.some((p) => p.machine.role === MirroringRole.MIRROR && !p.machine.rewinding));
    return choices;
  }

  private perform(action: Action): void {
    const up = this.partners.filter((p) => p.up);
    const pick = (filter: (p: SimPartner) => boolean): SimPartner => this.prng.pick(up.filter(filter));
    switch (action) {
      case "deliver": return this.deliver(this.partners[this.prng.pick(this.deliverable())]);
      case "notice": return this.notice(pick((p) => p.notices.length > 0));
      case "local": return this.local(pick((p) => p.localEvents.length > 0));
      case "commit": return this.commit(pick((p) => p.canCommit()));
      case "sync": return this.sync(pick((p) => p.disk.durable < p.disk.end));
      case "ship": return pick((p) => p.canShip()).ship(1 + this.prng.below(8));
      case "redo": return this.redo(pick((p) => p.canRedo()), 1 + this.prng.below(3));
      case "tick": return this.tick();
      case "checkpoint": return pick(() => true).checkpoint();
      case "connect": return this.connect();
      case "cut": return this.cut();
      case "partition": return this.partition();
      case "heal": this.linkHealthy = true; return;
      case "crash": return this.crash(pick(() => true), false);
      case "restart": return this.restart(this.prng.pick(this.partners.filter((p) => !p.up)));
      case "anyAdmin": return this.anyAdmin(pick(() => true));
      default: return this.admin(action, up);
    }
  }

  private admin(action: "safety" | "suspend" | "resume" | "failover" | "redoError", up: SimPartner[]): void {
    const principal = this.checker.currentPrincipal()!;
    if (action === "safety") {
      const level = this.prng.chance(30) ? "OFF" : "FULL";
      this.line.push(`${principal.name} SAFETY ${level}`);
      principal.apply({ kind: "safety", level });
      if (level === "OFF" && principal.machine.safety === SafetyLevel.OFF) this.stats.safetyOff++;
    } else if (action === "suspend") {
      const p = this.prng.pick(up.filter((q) => q.machine.connected));
      this.line.push(`${p.name} SUSPEND`);
      p.apply({ kind: "suspend" });
      if (p.machine.state === MirroringState.SUSPENDED) this.stats.suspends++;
    } else if (action === "resume") {
      this.line.push(`${principal.name} RESUME`);
      principal.apply({ kind: "resume" });
    } else if (action === "failover") {
      this.line.push(`${principal.name} FAILOVER`);
      this.stats.failoverRequests++;
      principal.requestFailover();
    } else {
      const mirror = this.prng.pick(up.filter((p) => p.machine.role === MirroringRole.MIRROR && !p.machine.rewinding));
      this.line.push(`${mirror.name} redo error`);
      this.stats.redoErrors++;
      mirror.apply({ kind: "redoError" });
    }
  }

  /** An admin command on either partner in whatever state: the refusals must hold too. */
  private anyAdmin(p: SimPartner): void {
    const input = this.prng.pick<SessionInput>([{ kind: "failover" }, { kind: "resume" }, { kind: "suspend" },
      { kind: "safety", level: "FULL" }, { kind: "timeout", seconds: this.prng.pick([3, 10, 40_000]) }]);
    this.line.push(`${p.name} ${input.kind.toUpperCase()}`);
    if (input.kind === "failover") p.requestFailover();
    else p.apply(input);
  }

  // ---- The world's actions ----

  private deliverable(): Side[] {
    return this.partners.filter((p) => p.up && p.conn !== null && p.conn.alive && p.conn.peek(p.side, this.now) !== undefined)
      .map((p) => p.side);
  }

  private deliver(p: SimPartner): void {
    const conn = p.conn!;
    const payload = conn.peek(p.side, this.now)!;
    conn.shift(p.side);
    this.line.push(`→${p.name} ${describe(payload)}`);
    check(payload.kind !== "msg" || p.machine.connected, () => `${p.name} got a message while its machine is not connected`);
    p.receive(payload);
  }

  private notice(p: SimPartner): void {
    const id = p.notices.shift()!;
    const current = p.conn?.id === id;
    this.line.push(`${p.name} learns connection ${id} is gone${current ? "" : " (already replaced)"}`);
    if (current) p.detach();
  }

  private local(p: SimPartner): void {
    const input = p.localEvents.shift()!;
    this.line.push(`${p.name} ${input.kind}`);
    p.apply(input);
  }

  private commit(p: SimPartner): void {
    p.commit(this.prng, this.now);
    this.stats.commits++;
    this.line.push(`${p.name} lsn ${p.disk.end}`);
  }

  private sync(p: SimPartner): void {
    this.line.push(`${p.name} ${p.disk.durable}→${p.disk.end}`);
    p.sync();
  }

  private redo(p: SimPartner, count: number): void {
    this.line.push(`${p.name} from ${p.machine.redoneLsn}`);
    p.redo(count);
  }

  private tick(): void {
    this.now++;
    // The workload comes in bursts, so the mirror can catch up between them.
    if (!this.healing && this.prng.chance(20)) this.load = this.prng.pick([0, 2, 6, 14]);
    for (const p of this.partners) {
      if (!p.up) continue;
      const was = p.machine.connected;
      p.apply({ kind: "tick" });
      if (was && !p.machine.connected) {
        this.stats.timeouts++;
        this.line.push(`${p.name} timed out`);
      }
    }
  }

  private canConnect(): boolean {
    const [a, b] = this.partners;
    return this.linkHealthy && a.up && b.up && (a.conn === null || b.conn === null);
  }

  private liveConnection(): Connection | null {
    return this.partners.map((p) => p.conn).find((conn) => conn !== null && conn.alive) ?? null;
  }

  /** A new connection; a side still holding an older one drops it first (it learns it is gone). */
  private connect(): void {
    const conn = new Connection(++this.nextConnectionId);
    this.stats.connects++;
    this.line.push(`connection ${conn.id}`);
    for (const p of this.partners) if (p.conn !== null) p.detach();
    const hello = this.partners.map((p) => ({ kind: "connected", partnerInstanceGuid: p.name,
      partnerRole: p.machine.role!, partnerRoleSequence: p.machine.roleSequence }) as const);
    const [a, b] = this.partners;
    a.attach(conn);
    b.attach(conn);
    a.apply(hello[1]!);
    b.apply(hello[0]!);
    for (const p of this.partners) if (p.conn === conn) p.requestPages();
  }

  /** The link drops the connection; each side learns at once (a reset) or only by PARTNER TIMEOUT. */
  private cut(): void {
    const conn = this.liveConnection();
    if (conn === null) return;
    conn.kill();
    this.stats.cuts++;
    this.line.push(`connection ${conn.id} cut`);
    for (const p of this.partners) if (p.conn === conn && this.prng.chance(70)) p.notices.push(conn.id);
  }

  private partition(): void {
    this.linkHealthy = false;
    this.stats.partitions++;
    this.cut();
  }

  private crash(p: SimPartner, midEffects: boolean): void {
    const conn = p.conn;
    if (conn !== null && conn.alive) {
      conn.kill();
      const other = this.partners[p.side === 0 ? 1 : 0];
      if (other.conn === conn && this.prng.chance(70)) other.notices.push(conn.id);
    }
    const loss = p.crash(this.prng);
    this.stats.crashes++;
    if (midEffects) this.stats.midEffectCrashes++;
    this.stats.recordsLostInCrashes += loss.recordsLost;
    this.line.push(`CRASH ${p.name}${midEffects ? " between effects" : ""}: ${loss.recordsLost} unsynced records lost${loss.torn ? ", torn tail" : ""}`);
  }

  private restart(p: SimPartner): void {
    p.restart();
    this.stats.restarts++;
    this.line.push(`${p.name} restarted: log ${p.disk.end}, ${p.rewind === null ? "" : "rewind pending, "}`
      + `role ${p.machine.role === MirroringRole.PRINCIPAL ? "principal" : "mirror"} @${p.machine.roleSequence}`);
  }

  private byName(name: string): SimPartner {
    return this.partners.find((p) => p.name === name)!;
  }

  // ---- PartnerPort ----

  send(from: SimPartner, payload: Payload): void {
    const conn = from.conn;
    if (conn === null) return;
    conn.send(from.side === 0 ? 1 : 0, payload, this.now + this.delay());
  }

  /** Mostly at once; sometimes a tick or two; rarely longer than PARTNER TIMEOUT. */
  private delay(): number {
    if (this.healing) return 0;
    const roll = this.prng.below(100);
    if (roll < 80) return 0;
    if (roll < 95) return 1;
    if (roll < 99) return 2 + this.prng.below(2);
    return 11 + this.prng.below(4);
  }

  close(from: SimPartner): void {
    const conn = from.conn;
    from.release();
    conn?.closeFrom(from.side, this.now);
    this.line.push(`${from.name} closes`);
  }

  acknowledge(from: SimPartner, lsn: number, state: SessionState): void {
    if (this.options.brokenAck === true) return;
    this.recordAck(from, lsn, state);
  }

  stepped(from: SimPartner, state: SessionState): void {
    if (this.options.brokenAck !== true || state.role !== MirroringRole.PRINCIPAL) return;
    const key = `${from.name}@${state.roleSequence}`;
    const lsn = state.localDurableLsn;
    if (lsn <= (this.brokenAcked.get(key) ?? 0) || !from.pending.some((c) => c.lsn <= lsn)) return;
    this.brokenAcked.set(key, lsn);
    this.recordAck(from, lsn, state);
  }

  private recordAck(from: SimPartner, lsn: number, state: SessionState): void {
    const before = this.checker.acked.length;
    const protectedBefore = this.checker.protectedCount;
    this.checker.recordAck(from, lsn, state);
    this.stats.acknowledged += this.checker.acked.length - before;
    this.stats.protectedAcks += this.checker.protectedCount - protectedBefore;
    this.line.push(`${from.name} acks ≤${lsn}${this.checker.protectedCount > protectedBefore ? " (FULL)" : ""}`);
  }

  crashPoint(_from: SimPartner, roleChange: boolean): boolean {
    return !this.healing && this.prng.chance(roleChange ? ROLE_CHANGE_CRASH_PERCENT : MID_EFFECT_CRASH_PERCENT);
  }

  fired(from: SimPartner, rule: string): void {
    this.rules.add(rule);
    this.line.push(`${from.name}:${rule}`);
  }

  note(from: SimPartner, what: string): void {
    this.line.push(`${from.name} ${what}`);
  }

  count(stat: StatName): void {
    this.stats[stat]++;
  }

  // ---- Healing ----

  private heal(): void {
    this.healing = true;
    this.step("HEAL: restart, reconnect", () => {
      for (const p of this.partners) if (!p.up) this.restart(p);
      this.linkHealthy = true;
      this.liveConnection()?.kill();
      for (const p of this.partners) if (p.conn !== null) p.detach();
      this.connect();
    });
    this.settleUntil(() => this.synchronized());
    // The healed session must serve: one more commit, acknowledged by the machine.
    const principal = this.checker.currentPrincipal()!;
    this.step("HEAL: commit", () => this.commit(principal));
    this.settleUntil(() => this.synchronized() && (principal.pending.length === 0 || this.options.brokenAck === true));
    this.finalCheck();
  }

  /** Carry out all pending work, ticking time on, RESUMEing and reconnecting as needed. */
  private settleUntil(done: () => boolean): void {
    let ticks = 0;
    let sinceConnect = 0;
    for (;;) {
      this.settle();
      if (done()) return;
      check(ticks < HEAL_TICKS_MAX, () => `not SYNCHRONIZED ${ticks} ticks after healing: ${this.describeSession()}`);
      const ps = this.checker.currentPrincipal()?.machine;
      if (ps?.connected === true && ps.state === MirroringState.SUSPENDED) {
        this.step("HEAL: RESUME", () => this.checker.currentPrincipal()!.apply({ kind: "resume" }));
      } else if (this.canConnect()) {
        this.step("HEAL: connect", () => this.connect());
        sinceConnect = 0;
      } else if (sinceConnect >= HEAL_STUCK_TICKS) {
        this.stats.healReconnects++;
        this.step("HEAL: reconnect (stuck)", () => {
          this.liveConnection()?.kill();
          for (const p of this.partners) if (p.conn !== null) p.detach();
          this.connect();
        });
        sinceConnect = 0;
      } else {
        this.step("HEAL: tick", () => this.tick());
        ticks++;
        sinceConnect++;
      }
    }
  }

  private settle(): void {
    for (let round = 0; round < 20_000; round++) {
      const work = this.nextWork();
      if (work === null) return;
      this.step(work[0], work[1]);
    }
    throw new CheckFailure("the partners never settle");
  }

  private nextWork(): [string, () => void] | null {
    const side = this.deliverable()[0];
    if (side !== undefined) return ["deliver", () => this.deliver(this.partners[side])];
    for (const p of this.partners) {
      if (p.notices.length > 0) return ["notice", () => this.notice(p)];
      if (p.localEvents.length > 0) return ["local", () => this.local(p)];
      if (p.disk.durable < p.disk.end) return ["sync", () => this.sync(p)];
      if (p.canShip()) return ["ship", () => p.ship(1_000_000)];
      if (p.canRedo()) return ["redo", () => this.redo(p, 1_000_000)];
    }
    return null;
  }

  private synchronized(): boolean {
    const p = this.checker.currentPrincipal();
    const m = this.partners.find((q) => q !== p);
    if (p === null || m === undefined || !m.up) return false;
    const ps = p.machine;
    const ms = m.machine;
    return ps.connected && ms.connected && ms.role === MirroringRole.MIRROR
      && ps.state === MirroringState.SYNCHRONIZED && ms.state === MirroringState.SYNCHRONIZED
      && ms.hardenedLsn === p.disk.end && ms.redoneLsn === p.disk.end && p.isQuiet() && m.isQuiet()
      && (p.conn?.inFlight() ?? 0) === 0;
  }

  private finalCheck(): void {
    const p = this.checker.currentPrincipal()!;
    const m = this.partners.find((q) => q !== p)!;
    const end = p.disk.end;
    check(chainAt(m.disk.log, end) === chainAt(p.disk.log, end), () => "after healing the logs differ");
    const difference = firstPageDifference(p.db, m.db);
    check(difference === null, () => `after healing the pages differ at LSN ${end}: ${difference}`);
    check(m.consistentFromLsn <= end, () => "after healing the mirror's file is not consistent");
  }

  private describeSession(): string {
    return this.partners.map((p) => `${p.name} ${p.up ? "" : "down "}role ${p.machine.role} @${p.machine.roleSequence} `
      + `state ${p.machine.state} connected ${p.machine.connected} log ${p.disk.end} hardened ${p.machine.hardenedLsn} `
      + `redone ${p.machine.redoneLsn} rewinding ${p.machine.rewinding}${p.rewind === null ? "" : " (pages pending)"}`).join("; ");
  }

  // ---- Statistics ----

  /**
   * No split brain: at most one partner lets users in as principal. An old principal that sent
   * FAILOVER keeps users out (its persisted intent) until it learns who is principal.
   */
  private checkOneServes(): void {
    const serving = this.partners.filter((p) => p.serving);
    check(serving.length < 2, () => `both partners serve users as principal: ${this.describeSession()}`);
  }

  private countExposedLoss(): void {
    const p = this.checker.currentPrincipal();
    if (p === null) return;
    for (const c of this.checker.acked) if (!c.protected && p.disk.log[c.lsn - 1]?.id !== c.id) this.stats.exposedLost++;
  }
}

function describe(payload: Payload): string {
  switch (payload.kind) {
    case "msg": {
      const m = payload.message;
      return m.kind === "ackHardened" ? `ackHardened ${m.lsn}` : m.kind === "failover" ? `failover ${m.failoverLsn}` : m.kind;
    }
    case "block": return "block";
    case "pageRequest": return `pageRequest F=${payload.plan.failoverLsn}`;
    case "pageReply": return `pages @${payload.snapshotLsn}`;
    case "eof": return "eof";
  }
}
