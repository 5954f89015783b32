// The simulator's checkers, run after every step. The oracle records every acknowledged commit
// (LSN, record identity, the pages it wrote) and whether it was acknowledged under SAFETY FULL
// while SYNCHRONIZED (or handing over): those are "protected" and may never be lost.
//
// 1. Protected commits: present in both partners' durable logs at their LSN (the mirror hardened
//    them before the acknowledgement; a rewind never goes below them), and on the principal
//    each page reads as the commit wrote it unless a later LSN of its log wrote (or cut) it.
// 2. Pages: every partner's file equals its own log replayed to the file's LSN (the principal's
//    end of log, the mirror's redone LSN); a mirror in the principal's role sequence holds the
//    principal's history up to its hardened LSN, and its pages equal the principal's log
//    replayed to its redone LSN.
// 3. At most one principal per role sequence.
// 4. Acknowledged LSNs never go back (per partner and role sequence), nor past durable log.
// 5. No split brain: at most one partner lets users in as principal (checked by the simulator
//    after each step: a principal in PENDING_FAILOVER, or whose failover intent is persisted,
//    keeps users out).
import { MirroringRole, MirroringState, SafetyLevel } from "../codes.js";
import { EMPTY_PAGE_MAP, firstPageDifference, pageOf, redoIntoPageMap, samePage, type PageMap } from "../page_redo.js";
import { RecordFlags, type PageImage } from "../../log/record.js";
import type { SessionState } from "../session.js";
import { CheckFailure, check } from "./failure.js";
import { chainAt, type LogEntry } from "./sim_disk.js";
import type { SimPartner } from "./sim_partner.js";

export interface AckedCommit {
  readonly lsn: number;
  readonly id: number;
  readonly pages: readonly PageImage[];
  readonly protected: boolean;
  readonly by: string;
}

/** A log replayed into a page map, moved forward incrementally; restarts when the log's history changed. */
export class ReplayCursor {
  private lsn = 0;
  private chain = 0;
  private image: PageMap = EMPTY_PAGE_MAP;
  /** The last LSN that wrote each page, or cut it off the end of the file. */
  private pageLsn = new Map<number, number>();

  at(log: readonly LogEntry[], target: number): PageMap {
    if (target < this.lsn || chainAt(log, this.lsn) !== this.chain) this.reset();
    while (this.lsn < target) {
      const entry = log[this.lsn]!;
      this.apply(entry);
      this.lsn = entry.header.lsn;
      this.chain = entry.chain;
    }
    return this.image;
  }

  writtenAfter(pgno: number, lsn: number): boolean {
    return (this.pageLsn.get(pgno) ?? 0) > lsn;
  }

  private apply(entry: LogEntry): void {
    const { header, pages } = entry;
    const base = RecordFlags.BASE_IMAGE | RecordFlags.FIRST;
    if ((header.flags & base) === base) for (const pgno of this.pageLsn.keys()) this.pageLsn.set(pgno, header.lsn);
    this.image = redoIntoPageMap(this.image, header, pages);
    for (const page of pages) this.pageLsn.set(page.pgno, header.lsn);
    if ((header.flags & RecordFlags.LAST) === 0) return;
    for (const pgno of this.pageLsn.keys()) if (pgno > header.dbSizePages) this.pageLsn.set(pgno, header.lsn);
  }

  private reset(): void {
    this.lsn = 0;
    this.chain = 0;
    this.image = EMPTY_PAGE_MAP;
    this.pageLsn = new Map();
  }
}

interface Verified {
  truncations: number;
  count: number;
}

export class Checker {
  readonly acked: AckedCommit[] = [];
  private readonly protectedCommits: AckedCommit[] = [];
  private readonly latestByPage = new Map<number, AckedCommit>();
  private readonly principalBySequence = new Map<number, string>();
  private readonly lastAck = new Map<string, number>();
  /** Highest acknowledgedLsn each machine reported, per partner and role sequence. */
  private readonly machineAck = new Map<string, number>();
  private readonly verified: Verified[];
  private readonly own: ReplayCursor[];
  private readonly cross = new ReplayCursor();

  constructor(private readonly partners: readonly SimPartner[]) {
    this.verified = partners.map(() => ({ truncations: -1, count: 0 }));
    this.own = partners.map(() => new ReplayCursor());
  }

  get protectedCount(): number {
    return this.protectedCommits.length;
  }

  /** Clients of p's pending commits up to `lsn` are told they committed (check 4 on the way). */
  recordAck(p: SimPartner, lsn: number, state: SessionState): void {
    const key = `${p.name}@${state.roleSequence}`;
    const last = this.lastAck.get(key) ?? 0;
    check(lsn > last, () => `${p.name} acknowledged up to ${lsn} after ${last} (acknowledged LSN went back)`);
    check(lsn <= p.disk.durable, () => `${p.name} acknowledged ${lsn} with only ${p.disk.durable} durable`);
    this.lastAck.set(key, lsn);
    const isProtected = state.role === MirroringRole.PRINCIPAL && state.safety === SafetyLevel.FULL
      && (state.state === MirroringState.SYNCHRONIZED || state.state === MirroringState.PENDING_FAILOVER);
    for (const commit of p.pending) {
      if (commit.lsn > lsn) continue;
      const acked: AckedCommit = { ...commit, protected: isProtected, by: p.name };
      this.acked.push(acked);
      if (!isProtected) continue;
      this.protectedCommits.push(acked);
      for (const page of commit.pages) {
        const previous = this.latestByPage.get(page.pgno);
        if (previous === undefined || previous.lsn < acked.lsn) this.latestByPage.set(page.pgno, acked);
      }
    }
    p.pending = p.pending.filter((commit) => commit.lsn > lsn);
  }

  checkAll(): void {
    this.partners.forEach((p, i) => this.checkProtectedInLog(p, i));
    this.checkPrincipals();
    this.partners.forEach((p, i) => this.checkOwnReplay(p, i));
    const principal = this.currentPrincipal();
    if (principal === null) return;
    this.checkProtectedPages(principal);
    const mirror = this.partners.find((p) => p !== principal)!;
    this.checkMirrorHistory(principal, mirror);
  }

  /** The principal of the newest role sequence among the partners that are up. */
  currentPrincipal(): SimPartner | null {
    let best: SimPartner | null = null;
    for (const p of this.partners) {
      if (!p.up || p.machine.role !== MirroringRole.PRINCIPAL) continue;
      if (best === null || p.machine.roleSequence > best.machine.roleSequence) best = p;
    }
    return best;
  }

  private checkPrincipals(): void {
    for (const p of this.partners) {
      if (!p.up || p.machine.role !== MirroringRole.PRINCIPAL) continue;
      const seq = p.machine.roleSequence;
      const holder = this.principalBySequence.get(seq);
      check(holder === undefined || holder === p.name, () => `two principals at role sequence ${seq}: ${holder} and ${p.name}`);
      this.principalBySequence.set(seq, p.name);
      const key = `${p.name}@${seq}`;
      const acked = p.machine.acknowledgedLsn;
      const before = this.machineAck.get(key) ?? 0;
      check(acked >= before, () => `${p.name}'s acknowledged LSN went back from ${before} to ${acked}`);
      this.machineAck.set(key, acked);
    }
  }

  /** Check 1, logs: every protected commit sits in each partner's durable log (crashed ones too). */
  private checkProtectedInLog(p: SimPartner, index: number): void {
    const seen = this.verified[index]!;
    if (seen.truncations !== p.disk.truncations) {
      seen.truncations = p.disk.truncations;
      seen.count = 0;
    }
    for (; seen.count < this.protectedCommits.length; seen.count++) {
      const c = this.protectedCommits[seen.count]!;
      const held = c.lsn <= p.disk.durable ? p.disk.log[c.lsn - 1] : undefined;
      check(held?.id === c.id, () => `acknowledged SAFETY FULL commit ${c.lsn} (by ${c.by}) is not in ${p.name}'s `
        + `durable log (${held === undefined ? `durable end ${p.disk.durable}` : "another record there"})`);
    }
  }

  /** Check 2, own: the file equals the partner's own log replayed to the file's LSN. */
  private checkOwnReplay(p: SimPartner, index: number): void {
    if (!p.up) return;
    const s = p.machine;
    let lsn: number;
    if (s.role === MirroringRole.PRINCIPAL) lsn = p.disk.end;
    else if (s.role === MirroringRole.MIRROR && !s.rewinding && p.rewind === null && s.redoneLsn >= p.consistentFromLsn) {
      lsn = s.redoneLsn;
    } else {
      return;
    }
    const replayed = this.own[index]!.at(p.disk.log, lsn);
    const difference = firstPageDifference(p.db, replayed);
    check(difference === null, () => `${p.name}'s pages at LSN ${lsn} differ from its log replayed there: ${difference}`);
  }

  /** Check 1, pages: on the principal, each protected page is as acknowledged or overwritten later. */
  private checkProtectedPages(principal: SimPartner): void {
    const cursor = this.own[this.partners.indexOf(principal)]!;
    cursor.at(principal.disk.log, principal.disk.end);
    for (const [pgno, c] of this.latestByPage) {
      const image = c.pages.find((page) => page.pgno === pgno)!.data;
      if (samePage(pageOf(principal.db, pgno), image) || cursor.writtenAfter(pgno, c.lsn)) continue;
      throw new CheckFailure(`page ${pgno} of acknowledged SAFETY FULL commit ${c.lsn} is lost on principal ${principal.name}`);
    }
  }

  /** Check 2, across: the mirror of this role sequence holds the principal's history and pages. */
  private checkMirrorHistory(principal: SimPartner, mirror: SimPartner): void {
    const m = mirror.machine;
    if (!mirror.up || m.role !== MirroringRole.MIRROR || m.roleSequence !== principal.machine.roleSequence) return;
    if (m.rewinding || mirror.rewind !== null) return;
    const hardened = m.hardenedLsn;
    check(hardened <= principal.disk.end, () => `${mirror.name} hardened ${hardened}, beyond the principal's log`);
    check(chainAt(mirror.disk.log, hardened) === chainAt(principal.disk.log, hardened),
      () => `${mirror.name}'s log up to ${hardened} is not the principal's history`);
    if (m.redoneLsn < mirror.consistentFromLsn) return;
    const replayed = this.cross.at(principal.disk.log, m.redoneLsn);
    const difference = firstPageDifference(mirror.db, replayed);
    check(difference === null,
      () => `${mirror.name}'s pages at LSN ${m.redoneLsn} differ from the principal's log replayed there: ${difference}`);
  }
}
