// The instance's mirroring sessions: one PartnerSession per mirrored database, their persisted
// records (DIR/databases/NAME/mirroring.json, fsynced before any message announces them), the
// channels the endpoint accepts, and what a role change does to a database (close it RESTORING,
// or recover it onto a new fork and open it). SET PARTNER's checks that need both partners live
// in the handshake here (spec/mirroring.md §2.10).
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { MirroringChannel } from "../endpoint/transport.js";
import { connectEndpoint } from "../endpoint/transport.js";
import type { Frame } from "../endpoint/frames.js";
import { SqlError } from "../errors/sql_error.js";
import { MirroringRole } from "../mirroring/codes.js";
import { createSession, restoreSession, type PersistedSession } from "../mirroring/session.js";
import { MirrorLog } from "../mirroring/runtime/mirror_log.js";
import { PartnerSession, type PartnerHost } from "../mirroring/runtime/partner_session.js";
import { decodeWire, encodeWire, WireKind, type Hello, type Refusal } from "../mirroring/wire.js";
import { writeControl, type ControlState, type RecoveryFork } from "../storage/control_file.js";
import type { MirrorliteDatabase } from "../storage/database.js";
import { removeFileDurably, writeFileDurably } from "../storage/durable_file.js";
import { fatalExit } from "../storage/engine.js";
import { assert } from "../util/assert.js";
import type { Instance } from "./instance.js";

const SESSION_FILE = "mirroring.json";
const FAILOVER_INTENT_FILE = "failover-intent";
const HELLO_TIMEOUT_MS = 10_000;
const MIRROR_SEGMENT_BYTES = 64 * 1024 * 1024;

export class MirroringService implements PartnerHost {
  private readonly sessions = new Map<string, PartnerSession>();
  /** Ticks per second of the session machines (PARTNER TIMEOUT is counted in ticks). */
  readonly ticksPerSecond = 4;

  constructor(private readonly instance: Instance) {}

  /** At start: every database with a persisted session gets its session back, not connected. */
  async start(): Promise<void> {
    for (const entry of this.instance.catalog.databases()) {
      const record = readSessionFile(this.instance.engine.databaseDir(entry.name));
      if (record === null) continue;
      await this.finishRoleChange(entry.name, record);
      const endOfLogLsn = this.instance.database(entry.name)?.db.log.durableLsn ?? 0;
      const state = restoreSession(record, { ticksPerSecond: this.ticksPerSecond, endOfLogLsn });
      const handingOver = record.role === MirroringRole.PRINCIPAL
        && fs.existsSync(path.join(this.instance.engine.databaseDir(entry.name), FAILOVER_INTENT_FILE));
      if (handingOver) this.log(entry.name, "restarted during a failover: users wait until the partner says who is principal.");
      this.sessions.set(key(entry.name), new PartnerSession(state, this, handingOver));
    }
  }

  /**
   * A crash between persisting a new role and acting on it (the session file says MIRROR but the
   * database is ONLINE, or PRINCIPAL but it is RESTORING) is finished now, before any user or
   * partner can reach the database.
   */
  private async finishRoleChange(databaseName: string, record: PersistedSession): Promise<void> {
    const open = this.instance.database(databaseName);
    const entry = this.instance.catalog.database(databaseName)!;
    if (record.role === MirroringRole.MIRROR && open !== null) {
      this.log(databaseName, `finishing the change to the mirror role at failover LSN ${record.failoverLsn} (interrupted by a restart).`);
      const owner = {};
      await open.db.writeLock.acquire(owner, -1);
      await this.becomeMirror(databaseName, open.db, owner, record.failoverLsn);
    } else if (record.role === MirroringRole.PRINCIPAL && this.instance.restoringControl(entry.id) !== null) {
      this.log(databaseName, `finishing the change to the principal role at failover LSN ${record.failoverLsn} (interrupted by a restart).`);
      const mirrorLog = MirrorLog.open(this.instance.engine.databaseDir(databaseName), {
        segmentBytes: MIRROR_SEGMENT_BYTES, onFatal: fatalExit, onHardened: () => undefined, onRedone: () => undefined,
      });
      await this.becomePrincipal(databaseName, mirrorLog, record.failoverLsn);
    }
  }

  async stop(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((session) => session.close()));
  }

  session(databaseName: string): PartnerSession | null {
    return this.sessions.get(key(databaseName)) ?? null;
  }

  /** Is the database a partner (DROP 3743, RESTORE 3104, recovery model 1468)? */
  isMirrored(databaseName: string): boolean {
    return this.sessions.has(key(databaseName));
  }

  /** SET PARTNER = 'TCP://…' on the mirror (a RESTORING database): the session waits for the principal. */
  async setPartnerOnMirror(databaseName: string, address: string): Promise<void> {
    const entry = this.instance.catalog.database(databaseName)!;
    const control = this.instance.restoringControl(entry.id)!;
    if (control.recoveryModel === "SIMPLE") throw new SqlError("DBM_NOT_FULL_RECOVERY", [entry.name]);
    if (this.isMirrored(entry.name)) throw new SqlError("DBM_ALREADY_ENABLED", [entry.name]);
    const state = createSession(entry.name, { ticksPerSecond: this.ticksPerSecond, endOfLogLsn: control.checkpointLsn });
    const session = new PartnerSession(state, this);
    this.sessions.set(key(entry.name), session);
    try {
      await session.command({ kind: "setPartnerAsPrincipal", address });
    } catch (error) {
      this.sessions.delete(key(entry.name));
      await session.close();
      throw error;
    }
  }

  /**
   * SET PARTNER = 'TCP://…' on the principal: reach the mirror's endpoint (1418), exchange
   * HELLOs (the mirror checks its side), check ours (1452, 1412, 1478), then start the session.
   */
  async setPartnerOnPrincipal(databaseName: string, address: string): Promise<void> {
    const target = this.instance.database(databaseName)!;
    if (target.db.recoveryModel === "SIMPLE") throw new SqlError("DBM_NOT_FULL_RECOVERY", [target.entry.name]);
    if (this.isMirrored(target.entry.name)) throw new SqlError("DBM_ALREADY_ENABLED", [target.entry.name]);
    const channel = await this.dial(address);
    let hello: Hello;
    try {
      // We introduce ourselves as the principal the session is about to make us.
      const ours: Hello = { ...this.hello(target.entry.name), role: MirroringRole.PRINCIPAL, roleSequence: 1 };
      hello = await exchangeHello(channel, ours);
      const problem = principalSideProblem(this.instance.catalog.instanceGuid, this.hello(target.entry.name), hello);
      if (problem !== null) throw new SqlError(problem, [target.entry.name]);
    } catch (error) {
      channel.close("SET PARTNER failed");
      throw error;
    }
    const state = createSession(target.entry.name, { ticksPerSecond: this.ticksPerSecond,
      endOfLogLsn: target.db.log.durableLsn });
    const session = new PartnerSession(state, this);
    this.sessions.set(key(target.entry.name), session);
    await session.command({ kind: "setPartnerAsMirror", address, mirroringGuid: randomUUID().toUpperCase() });
    session.attachChannel(channel, hello);
  }

  /** A channel the endpoint accepted: its first message says what it is for. */
  adopt(channel: MirroringChannel, echo: (frame: Frame) => void): void {
    const first = (frame: Frame): void => {
      channel.off("frame", first);
      let hello: Hello | null = null;
      try {
        const message = decodeWire(frame.payload);
        if (message.kind === "hello") hello = message.hello;
      } catch {
        hello = null;
      }
      if (frame.payload[0] !== WireKind.HELLO || hello === null) {
        // Not mirroring: the endpoint check's framed messages, echoed.
        echo(frame);
        channel.on("frame", echo);
        return;
      }
      this.route(channel, hello);
    };
    channel.on("frame", first);
  }

  private route(channel: MirroringChannel, hello: Hello): void {
    const session = this.session(hello.databaseName);
    const refusal = session === null ? { number: 1416, args: [hello.databaseName] }
      : mirrorSideRefusal(this.hello(hello.databaseName), hello);
    if (refusal !== null || session === null) {
      const ours = this.hello(hello.databaseName);
      this.log(hello.databaseName, `refused a mirroring connection from ${channel.remoteAddress}: error ${refusal!.number} `
        + `(our end of log ${ours.endOfLogLsn}, forks ${forkList(ours.forks)}; the partner's end of log ${hello.endOfLogLsn}, `
        + `first LSN ${hello.firstLogLsn ?? "none"}, forks ${forkList(hello.forks)})`);
      void channel.send("DATA", encodeWire({ kind: "refuse", refusal: refusal! }));
      setTimeout(() => channel.close("refused"), 100).unref();
      return;
    }
    session.attachChannel(channel, hello);
  }

  // PartnerHost.

  persist(databaseName: string, session: PersistedSession | null): void {
    const dir = this.instance.engine.databaseDir(databaseName);
    if (session === null) removeFileDurably(dir, SESSION_FILE);
    else writeFileDurably(dir, SESSION_FILE, JSON.stringify(session, null, 2) + "\n");
  }

  openDatabase(databaseName: string): MirrorliteDatabase | null {
    return this.instance.database(databaseName)?.db ?? null;
  }

  openMirrorLog(databaseName: string, session: PartnerSession): MirrorLog {
    return MirrorLog.open(this.instance.engine.databaseDir(databaseName), {
      segmentBytes: MIRROR_SEGMENT_BYTES, onFatal: fatalExit,
      onHardened: (lsn) => session.onHardened(lsn),
      onRedone: (lsn) => session.onRedone(lsn),
    });
  }

  hello(databaseName: string): Hello {
    const catalog = this.instance.catalog;
    const entry = catalog.database(databaseName);
    const session = this.session(databaseName);
    const open = this.instance.database(databaseName);
    const restoring = entry === undefined ? null : this.instance.restoringControl(entry.id);
    const mirrorLog = session?.mirror ?? null;
    // A mirror's own control state is the current one (it adopts the principal's forks).
    const control: ControlState | null = open?.db.controlState ?? mirrorLog?.controlState ?? restoring;
    const endOfLogLsn = open !== null ? open.db.log.durableLsn
      : mirrorLog?.hardenedLsn ?? (restoring === null ? 0 : (restoring.restore?.redoLsn ?? 1) - 1);
    return {
      databaseName: entry?.name ?? databaseName, instanceGuid: catalog.instanceGuid, instanceName: catalog.serverName,
      tdsAddress: this.instance.tdsAddress, role: session?.state.role ?? null, roleSequence: session?.state.roleSequence ?? 0,
      restoring: restoring !== null, recoveryModel: control?.recoveryModel ?? "SIMPLE",
      familyGuid: control?.familyGuid ?? null, forks: control?.forks ?? [], endOfLogLsn,
      firstLogLsn: open !== null ? open.db.log.firstLsn : mirrorLog?.firstLogLsn ?? null,
    };
  }

  async dial(address: string): Promise<MirroringChannel> {
    const entry = this.instance.catalog.endpoints()[0];
    if (entry === undefined || entry.state !== "STARTED") throw new SqlError("PARTNER_UNREACHABLE", [address]);
    const endpoint = this.instance.mirroringEndpoint;
    return connectEndpoint(address, endpoint.identity(entry), endpoint.policy(entry), { timeoutMs: HELLO_TIMEOUT_MS });
  }

  failoverIntent(databaseName: string, on: boolean): void {
    const dir = this.instance.engine.databaseDir(databaseName);
    if (on) writeFileDurably(dir, FAILOVER_INTENT_FILE, "");
    else removeFileDurably(dir, FAILOVER_INTENT_FILE);
  }

  /** No user may enter the database while a failover from here is unresolved. */
  blocksUsers(databaseName: string): boolean {
    return this.session(databaseName)?.blocksUsers ?? false;
  }

  disconnectUsers(databaseName: string): Promise<void> {
    return this.instance.disconnectDatabaseUsers(databaseName);
  }

  async becomePrincipal(databaseName: string, mirrorLog: MirrorLog, failoverLsn: number): Promise<MirrorliteDatabase> {
    const control = await mirrorLog.close();
    // The mirror kept its log from the principal's log backup chain: log backups continue here.
    const logChainLsn = control.recoveryModel === "SIMPLE" ? null : mirrorLog.logChainForPrincipal();
    assert(control.checkpointLsn === failoverLsn, `new principal redone to ${control.checkpointLsn}, failover LSN ${failoverLsn}`);
    const forks = control.forks ?? [];
    const epoch = Math.max(control.epoch, ...forks.map((fork) => fork.epoch)) + 1;
    const online: ControlState = {
      format: 1, epoch, checkpointLsn: failoverLsn, recoveryModel: control.recoveryModel, pageSize: control.pageSize,
      ...(control.familyGuid === undefined ? {} : { familyGuid: control.familyGuid }),
      forks: [...forks, { guid: randomUUID(), epoch, firstLsn: failoverLsn + 1 }],
      state: "ONLINE", logBaseLsn: failoverLsn, logChainLsn, logChainBegunLsn: null, differentialBase: null,
    };
    const dir = this.instance.engine.databaseDir(databaseName);
    writeControl(dir, online);
    const entry = this.instance.catalog.database(databaseName)!;
    await this.instance.bringOnline(entry);
    this.log(databaseName, `is now the principal at failover LSN ${failoverLsn} (recovery fork ${epoch}).`);
    return this.instance.database(databaseName)!.db;
  }

  async becomeMirror(databaseName: string, db: MirrorliteDatabase, lockOwner: object, failoverLsn: number): Promise<void> {
    // Manual failover holds the write lock from before the failover LSN was chosen, so nothing
    // follows it in our log: the rewind of DESIGN.md §5 has no pages to fetch.
    assert(db.log.lastLsn === failoverLsn, `old principal's log ends at ${db.log.lastLsn}, failover LSN ${failoverLsn}`);
    const entry = this.instance.catalog.database(databaseName)!;
    const control = await this.instance.closeForMirroring(entry, lockOwner);
    const restoring: ControlState = { ...control, state: "RESTORING", logBaseLsn: control.checkpointLsn,
      restore: { redoLsn: control.checkpointLsn + 1, base: { lsn: control.checkpointLsn, guid: "" },
        sourceDatabaseName: entry.name, recoveryModel: control.recoveryModel, stateTimeMs: Date.now() } };
    writeControl(this.instance.engine.databaseDir(databaseName), restoring);
    this.instance.noteRestoring(entry.id, restoring);
    this.log(databaseName, `is now the mirror from failover LSN ${failoverLsn}.`);
  }

  removed(databaseName: string, mirrorControl: ControlState | null): void {
    this.sessions.delete(key(databaseName));
    const entry = this.instance.catalog.database(databaseName);
    if (entry !== undefined && mirrorControl !== null) this.instance.noteRestoring(entry.id, mirrorControl);
  }

  log(databaseName: string, text: string): void {
    process.stderr.write(`mirrorlite: Database mirroring for database "${databaseName}": ${text}\n`);
  }
}

function forkList(forks: readonly RecoveryFork[]): string {
  return forks.map((fork) => `${fork.epoch}@${fork.firstLsn}`).join(",");
}

function key(name: string): string {
  return name.toLowerCase();
}

function readSessionFile(dir: string): PersistedSession | null {
  const file = path.join(dir, SESSION_FILE);
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, "utf8")) as PersistedSession;
}

/** Sends our HELLO and waits for the partner's (or its REFUSE, raised as its SQL Server error). */
function exchangeHello(channel: MirroringChannel, ours: Hello): Promise<Hello> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new SqlError("PARTNER_UNREACHABLE", [channel.remoteAddress])), HELLO_TIMEOUT_MS);
    const onFrame = (frame: Frame): void => {
      try {
        const message = decodeWire(frame.payload);
        if (message.kind === "hello") finish(message.hello);
        else if (message.kind === "refuse") finish(refusalError(message.refusal, ours.databaseName));
      } catch (error) {
        finish(error as Error);
      }
    };
    const onClose = (): void => finish(new SqlError("PARTNER_UNREACHABLE", [channel.remoteAddress]));
    const finish = (result: Hello | Error): void => {
      clearTimeout(timer);
      channel.off("frame", onFrame);
      channel.off("close", onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    channel.on("frame", onFrame);
    channel.on("close", onClose);
    void channel.send("DATA", encodeWire({ kind: "hello", hello: ours }));
  });
}

const REFUSAL_NAMES: Record<number, "DBM_NOT_CONFIGURED" | "DBM_NOT_ROLLED_FORWARD" | "DBM_INSUFFICIENT_LOG"
  | "DBM_NOT_FULL_RECOVERY" | "DBM_NOT_RECOVERING" | "DBM_ALREADY_ENABLED"> = {
  1416: "DBM_NOT_CONFIGURED", 1412: "DBM_NOT_ROLLED_FORWARD", 1478: "DBM_INSUFFICIENT_LOG",
  1465: "DBM_NOT_FULL_RECOVERY", 1464: "DBM_NOT_RECOVERING", 1405: "DBM_ALREADY_ENABLED",
};

function refusalError(refusal: Refusal, databaseName: string): SqlError {
  return new SqlError(REFUSAL_NAMES[refusal.number] ?? "DBM_NOT_CONFIGURED", [databaseName]);
}

/** What the principal checks in the mirror's HELLO before the session starts. */
function principalSideProblem(ourGuid: string, ours: Hello, theirs: Hello):
  "DBM_SAME_INSTANCE" | "DBM_NOT_CONFIGURED" | "DBM_NOT_FULL_RECOVERY" | null {
  if (theirs.instanceGuid === ourGuid) return "DBM_SAME_INSTANCE";
  if (theirs.role !== MirroringRole.MIRROR || !theirs.restoring) return "DBM_NOT_CONFIGURED";
  if (theirs.recoveryModel === "SIMPLE" || ours.recoveryModel === "SIMPLE") return "DBM_NOT_FULL_RECOVERY";
  return null;
}

/**
 * What the mirror checks in the principal's HELLO: the same database family, our history a
 * prefix of the principal's, and our end of log still in the principal's log (spec §2.10).
 */
export function mirrorSideRefusal(ours: Hello, theirs: Hello): Refusal | null {
  const name = ours.databaseName;
  if (ours.role === null) return { number: 1416, args: [name] };
  if (ours.role !== MirroringRole.MIRROR || theirs.role !== MirroringRole.PRINCIPAL) return null; // the machine decides
  if (!ours.restoring) return { number: 1464, args: [name] };
  if (ours.familyGuid !== null && theirs.familyGuid !== null && ours.familyGuid !== theirs.familyGuid) {
    return { number: 1416, args: [name] };
  }
  if (ours.endOfLogLsn > theirs.endOfLogLsn || divergence(ours.forks, theirs.forks, ours.endOfLogLsn) < ours.endOfLogLsn) {
    return { number: 1412, args: [name] };
  }
  if (theirs.firstLogLsn !== null ? theirs.firstLogLsn > ours.endOfLogLsn + 1 : theirs.endOfLogLsn > ours.endOfLogLsn) {
    return { number: 1478, args: [name] };
  }
  return null;
}

/** The last LSN up to which both fork histories agree (DESIGN.md §5), capped at `upTo`. */
export function divergence(ours: readonly RecoveryFork[], theirs: readonly RecoveryFork[], upTo: number): number {
  let agreed = 0;
  for (let i = 0; i < ours.length; i++) {
    const fork = ours[i]!;
    const other = theirs[i];
    if (other === undefined || other.guid !== fork.guid) return Math.min(agreed, upTo);
    const ourEnd = ours[i + 1]?.firstLsn ?? Infinity;
    const theirEnd = theirs[i + 1]?.firstLsn ?? Infinity;
    agreed = Math.min(ourEnd, theirEnd) - 1;
    if (ourEnd !== theirEnd) return Math.min(agreed, upTo);
  }
  return upTo;
}
