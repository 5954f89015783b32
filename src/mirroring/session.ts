// The pure per-database mirroring session machine for the two partners (STYLE.md L2–L6):
// step(state, input) → { state, effects }. No I/O, clock or randomness: time arrives as `tick`
// inputs, the partner's messages and local completions arrive as inputs, and everything the
// runtime must do comes back as effects, to be carried out in list order.
import { MirroringRole, MirroringState, SafetyLevel } from "./codes.js";
import { actions, unmirrored } from "./session_actions.js";
import { computeView, decideSession } from "./session_rules.js";
import type { PartnerMessage, PersistedSession, SessionEffect, SessionInput, SessionState, StepResult } from "./session_types.js";

export type * from "./session_types.js";
export { persistedOf, DEFAULT_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS } from "./session_actions.js";
export { computeView, decideSession, sessionRules, invalidReason, partnerRelation, timeoutTicks,
  ALL_INPUTS, ADMIN_INPUTS, EVENT_INPUTS, type SessionView, type SessionRule, type SessionDecision,
  type ViewInput, type ViewRole, type ViewState, type PartnerRelation, type NextState, type ActionName,
} from "./session_rules.js";

export interface SessionOptions {
  /** Ticks per second of PARTNER TIMEOUT; 1 by default. */
  readonly ticksPerSecond?: number;
  /** The database's durable end of log when the machine starts. */
  readonly endOfLogLsn?: number;
}

/** A database that is not mirrored yet; SET PARTNER makes it a partner. */
export function createSession(databaseName: string, options: SessionOptions = {}): SessionState {
  return unmirrored(databaseName, options.ticksPerSecond ?? 1, options.endOfLogLsn ?? 0);
}

/** After a restart: the persisted session, not connected; a suspension survives (spec §2.1). */
export function restoreSession(record: PersistedSession, options: SessionOptions = {}): SessionState {
  const base = createSession(record.databaseName, options);
  const lsn = options.endOfLogLsn ?? 0;
  return { ...base, ...record, state: record.isSuspended ? MirroringState.SUSPENDED : MirroringState.DISCONNECTED,
    acknowledgedLsn: record.role === MirroringRole.PRINCIPAL ? lsn : base.acknowledgedLsn };
}

/**
 * The highest commit LSN the principal may report to clients. SAFETY FULL once SYNCHRONIZED (and
 * while a failover hands over): only what the mirror hardened too. Otherwise (SAFETY OFF, or FULL
 * while SYNCHRONIZING, SUSPENDED or DISCONNECTED, i.e. running exposed): local durability.
 * Never more than what is durable here. 0 on a mirror or an unmirrored database.
 */
export function acknowledgeableLsn(state: SessionState): number {
  if (state.role !== MirroringRole.PRINCIPAL) return 0;
  return commitsWaitForMirror(state) ? Math.min(state.localDurableLsn, state.mirrorHardenedLsn) : state.localDurableLsn;
}

/** A principal's commits wait for the mirror's hardening: SAFETY FULL, SYNCHRONIZED or handing over. */
export function commitsWaitForMirror(state: SessionState): boolean {
  return state.role === MirroringRole.PRINCIPAL && state.safety === SafetyLevel.FULL
    && (state.state === MirroringState.SYNCHRONIZED || state.state === MirroringState.PENDING_FAILOVER);
}

/**
 * A principal that announced a FAILOVER runs again with its partner still the mirror: connected,
 * neither handing over (PENDING_FAILOVER) nor waiting to learn who is principal (DISCONNECTED).
 * The failover did not happen, so its persisted intent may be dropped and users let back in.
 */
export function failoverDidNotHappen(state: SessionState): boolean {
  return state.role === MirroringRole.PRINCIPAL && state.connected
    && state.state !== MirroringState.PENDING_FAILOVER && state.state !== MirroringState.DISCONNECTED;
}

/** How a message from the partner enters the machine. */
export function inputFromPartner(message: PartnerMessage): SessionInput {
  if (message.kind === "ackHardened") return { kind: "mirrorHardened", lsn: message.lsn };
  if (message.kind === "failover") {
    return { kind: "failoverRequested", failoverLsn: message.failoverLsn, roleSequence: message.roleSequence };
  }
  return { kind: "messageFromPartner", message };
}

const FROM_PARTNER = new Set<SessionInput["kind"]>(["messageFromPartner", "mirrorHardened", "failoverRequested"]);

/** The timeout counter: any message restarts it; a tick on a live connection advances it. */
function heard(state: SessionState, input: SessionInput): SessionState {
  if (FROM_PARTNER.has(input.kind)) return { ...state, ticksSinceHeard: 0 };
  if (input.kind === "tick" && state.connected) return { ...state, ticksSinceHeard: state.ticksSinceHeard + 1 };
  return state;
}

export function step(state: SessionState, input: SessionInput): StepResult {
  const rule = decideSession(computeView(state, input));
  const { next, action, error } = rule.decision;
  const counted = heard(state, input);
  const entered = next === "same" || next === "none" ? counted : { ...counted, state: MirroringState[next] };
  const acted = actions[action](entered, input, error);
  const effects: SessionEffect[] = [{ kind: "log", rule: rule.id, why: rule.why }, ...acted.effects];
  // Acknowledgement comes last: after the persist/send effects of this step, never before them.
  const ackable = acknowledgeableLsn(acted.state);
  if (ackable <= acted.state.acknowledgedLsn) return { state: acted.state, effects };
  return { state: { ...acted.state, acknowledgedLsn: ackable },
    effects: [...effects, { kind: "acknowledgeCommitsUpTo", lsn: ackable }] };
}
