// What each table row's action does: field updates and effects, in contract order (persist before
// any send announcing what was persisted; see docs/mirroring-state-machine.md). No branching on
// the session's situation lives here: that is the table's job. Asserts guard the LSN invariants.
import { assert } from "../util/assert.js";
import { MirroringRole, SafetyLevel } from "./codes.js";
import { mirroringErrorMessage, type MirroringErrorNumber } from "./errors.js";
import type { ActionName } from "./session_rules.js";
import type { PartnerMessage, PersistedSession, SessionEffect, SessionInput, SessionState } from "./session_types.js";

type Out = { state: SessionState; effects: SessionEffect[] };
type Action = (s: SessionState, input: SessionInput, error: MirroringErrorNumber | undefined) => Out;

export const DEFAULT_TIMEOUT_SECONDS = 10;
/** TIMEOUT values 0–4 are stored as 5 (spec §1.4). */
export const MIN_TIMEOUT_SECONDS = 5;

export function persistedOf(s: SessionState): PersistedSession | null {
  if (s.role === null || s.partnerAddress === null) return null;
  return { databaseName: s.databaseName, role: s.role, partnerAddress: s.partnerAddress,
    partnerInstanceGuid: s.partnerInstanceGuid, safety: s.safety, roleSequence: s.roleSequence,
    safetySequence: s.safetySequence, suspendedSequence: s.suspendedSequence, isSuspended: s.isSuspended,
    mirroringGuid: s.mirroringGuid, timeoutSeconds: s.timeoutSeconds, failoverLsn: s.failoverLsn };
}

/** A database that is not mirrored: every mirroring column is NULL. */
export function unmirrored(databaseName: string, ticksPerSecond: number, localDurableLsn = 0): SessionState {
  return { databaseName, role: null, partnerAddress: null, partnerInstanceGuid: null, safety: SafetyLevel.UNKNOWN,
    roleSequence: 0, safetySequence: 0, suspendedSequence: 0, isSuspended: false, mirroringGuid: null,
    timeoutSeconds: DEFAULT_TIMEOUT_SECONDS, failoverLsn: 0, witnessAddress: null, witnessState: null, state: null,
    connected: false, ticksSinceHeard: 0, ticksPerSecond, sentLsn: null, mirrorHardenedLsn: 0,
    localDurableLsn, endOfLogLsn: localDurableLsn, acknowledgedLsn: localDurableLsn, draining: false,
    hardenedLsn: localDurableLsn, redoneLsn: localDurableLsn, failoverPending: false, rewinding: false };
}

const persist = (s: SessionState): SessionEffect => ({ kind: "persist", session: persistedOf(s) });
const send = (message: PartnerMessage): SessionEffect => ({ kind: "send", message });
const out = (state: SessionState, ...effects: SessionEffect[]): Out => ({ state, effects });
/** Persist, then announce: the only way a changed persisted field reaches the partner. */
const persistAndSend = (s: SessionState, message: PartnerMessage, ...more: SessionEffect[]): Out =>
  out(s, persist(s), send(message), ...more);

function startSessionOf(s: SessionState): PartnerMessage {
  return { kind: "startSession", mirroringGuid: s.mirroringGuid, roleSequence: s.roleSequence, safety: s.safety,
    safetySequence: s.safetySequence, timeoutSeconds: s.timeoutSeconds, isSuspended: s.isSuspended,
    suspendedSequence: s.suspendedSequence, failoverLsn: s.failoverLsn };
}
const settingsOf = (s: SessionState): PartnerMessage =>
  ({ kind: "settings", safety: s.safety, safetySequence: s.safetySequence, timeoutSeconds: s.timeoutSeconds });
const pingOf = (s: SessionState): PartnerMessage => ({ kind: "ping", state: s.state ?? 0 });
const ackOf = (lsn: number): PartnerMessage => ({ kind: "ackHardened", lsn });

function lsnOf(input: SessionInput): number {
  assert("lsn" in input, `${input.kind} carries no LSN`);
  return input.lsn;
}

function messageOf<K extends PartnerMessage["kind"]>(input: SessionInput, kind: K): Extract<PartnerMessage, { kind: K }> {
  assert(input.kind === "messageFromPartner" && input.message.kind === kind, `expected partner ${kind}`);
  return input.message as Extract<PartnerMessage, { kind: K }>;
}

function connectedTo(s: SessionState, input: SessionInput): Out {
  assert(input.kind === "connected", "connected input");
  const next = { ...s, connected: true, ticksSinceHeard: 0, partnerInstanceGuid: input.partnerInstanceGuid };
  return s.partnerInstanceGuid === input.partnerInstanceGuid ? out(next) : out(next, persist(next));
}

function adoptConfig(s: SessionState, input: SessionInput): SessionState {
  const m = messageOf(input, "startSession");
  return { ...s, mirroringGuid: m.mirroringGuid, roleSequence: m.roleSequence, safety: m.safety,
    safetySequence: m.safetySequence, timeoutSeconds: m.timeoutSeconds, isSuspended: m.isSuspended,
    suspendedSequence: m.suspendedSequence, failoverLsn: m.failoverLsn };
}

function recordAck(s: SessionState, input: SessionInput): SessionState {
  const lsn = lsnOf(input);
  assert(lsn <= s.localDurableLsn, `mirror hardened ${lsn} beyond our durable ${s.localDurableLsn}`);
  return { ...s, mirrorHardenedLsn: lsn };
}

/**
 * Hand over at the LSN that is durable here and hardened there: no acknowledged commit is lost.
 * The shipper stops first: log that becomes durable after the failover LSN (a group commit in
 * flight when users were disconnected) must never reach the mirror that takes over at it.
 */
function sendFailover(s: SessionState): Out {
  assert(s.mirrorHardenedLsn === s.localDurableLsn, "failover LSN must be hardened on both partners");
  const next = { ...s, draining: false, failoverLsn: s.localDurableLsn, sentLsn: null };
  return out(next, { kind: "stopShipping" }, persist(next),
    send({ kind: "failover", failoverLsn: next.failoverLsn, roleSequence: next.roleSequence }));
}

/** The mirror takes the principal role at the failover LSN: persist, announce, then act. */
function becomeNewPrincipal(s: SessionState): Out {
  assert(s.hardenedLsn === s.failoverLsn && s.redoneLsn >= s.failoverLsn, "new principal must hold the failover LSN");
  const next: SessionState = { ...s, role: MirroringRole.PRINCIPAL, roleSequence: s.roleSequence + 1,
    failoverPending: false, localDurableLsn: s.hardenedLsn, endOfLogLsn: s.hardenedLsn,
    acknowledgedLsn: s.hardenedLsn, mirrorHardenedLsn: 0, sentLsn: null, draining: false };
  return persistAndSend(next, startSessionOf(next), { kind: "becomePrincipal" });
}

function suspended(s: SessionState, sequence: number): SessionState {
  return { ...s, isSuspended: true, suspendedSequence: sequence, sentLsn: null, draining: false, failoverPending: false };
}

export const actions: { readonly [A in ActionName]: Action } = {
  nothing: (s) => out(s),
  refuse: (s, input, error) => {
    assert(error !== undefined, "a refusing row names its error");
    const args = input.kind === "timeout" ? [input.seconds] : [s.databaseName];
    return out(s, { kind: "refuse", number: error, message: mirroringErrorMessage(error, args) });
  },
  createPrincipal: (s, input) => {
    assert(input.kind === "setPartnerAsMirror", "SET PARTNER on the principal");
    const next: SessionState = { ...s, role: MirroringRole.PRINCIPAL, partnerAddress: input.address,
      mirroringGuid: input.mirroringGuid, safety: SafetyLevel.FULL, roleSequence: 1, safetySequence: 1,
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS, acknowledgedLsn: s.localDurableLsn };
    return out(next, persist(next));
  },
  createMirror: (s, input) => {
    assert(input.kind === "setPartnerAsPrincipal", "SET PARTNER on the mirror");
    const next: SessionState = { ...s, role: MirroringRole.MIRROR, partnerAddress: input.address,
      safety: SafetyLevel.FULL, roleSequence: 1, safetySequence: 1, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS };
    return out(next, persist(next));
  },
  removeLocal: (s) => {
    const next = unmirrored(s.databaseName, s.ticksPerSecond, s.endOfLogLsn);
    return out(next, persist(next), send({ kind: "off" }), { kind: "stopShipping" }, { kind: "removeSession" });
  },
  removeByPartner: (s) => {
    const next = unmirrored(s.databaseName, s.ticksPerSecond, s.endOfLogLsn);
    return out(next, persist(next), { kind: "stopShipping" }, { kind: "removeSession" });
  },
  suspendPrincipal: (s) => {
    const next = suspended(s, s.suspendedSequence + 1);
    return persistAndSend(next, { kind: "suspend", suspendedSequence: next.suspendedSequence }, { kind: "stopShipping" });
  },
  suspendMirror: (s) => {
    const next = suspended(s, s.suspendedSequence + 1);
    return persistAndSend(next, { kind: "suspend", suspendedSequence: next.suspendedSequence });
  },
  adoptSuspendPrincipal: (s, input) => {
    const next = suspended(s, messageOf(input, "suspend").suspendedSequence);
    return out(next, persist(next), { kind: "stopShipping" });
  },
  adoptSuspendMirror: (s, input) => {
    const next = suspended(s, messageOf(input, "suspend").suspendedSequence);
    return out(next, persist(next));
  },
  resumePrincipal: (s) => {
    const next = { ...s, isSuspended: false, suspendedSequence: s.suspendedSequence + 1, sentLsn: null };
    return persistAndSend(next, { kind: "resume", suspendedSequence: next.suspendedSequence });
  },
  adoptResume: (s, input) => {
    const next = { ...s, isSuspended: false, suspendedSequence: messageOf(input, "resume").suspendedSequence };
    return out(next, persist(next), { kind: "hardenLog" }, send(ackOf(next.hardenedLsn)));
  },
  adoptResumeQuiet: (s, input) => {
    const next = { ...s, isSuspended: false, suspendedSequence: messageOf(input, "resume").suspendedSequence };
    return out(next, persist(next));
  },
  setSafety: (s, input) => {
    assert(input.kind === "safety", "SAFETY");
    const next = { ...s, safety: SafetyLevel[input.level], safetySequence: s.safetySequence + 1 };
    return persistAndSend(next, settingsOf(next));
  },
  setTimeout: (s, input) => {
    assert(input.kind === "timeout", "TIMEOUT");
    const next = { ...s, timeoutSeconds: Math.max(MIN_TIMEOUT_SECONDS, input.seconds) };
    return persistAndSend(next, settingsOf(next));
  },
  startFailover: (s) => {
    const handed = sendFailover(s);
    return out(handed.state, { kind: "disconnectUsers" }, ...handed.effects);
  },
  startFailoverDrain: (s) => out({ ...s, draining: true }, { kind: "disconnectUsers" }),
  recordAckSendFailover: (s, input) => sendFailover(recordAck(s, input)),
  principalConnected: (s, input) => {
    const joined = connectedTo({ ...s, sentLsn: null }, input);
    return out(joined.state, ...joined.effects, send(startSessionOf(joined.state)));
  },
  markConnected: (s, input) => connectedTo(s, input),
  losePrincipal: (s) => out({ ...s, connected: false, sentLsn: null, draining: false }, { kind: "stopShipping" }),
  loseMirror: (s) => out({ ...s, connected: false, failoverPending: false }),
  ping: (s) => out(s, send(pingOf(s))),
  recordDurable: (s, input) => {
    const lsn = lsnOf(input);
    assert(lsn >= s.localDurableLsn, "durable LSN never goes back");
    return out({ ...s, localDurableLsn: lsn, endOfLogLsn: lsn, sentLsn: s.sentLsn === null ? null : lsn });
  },
  recordAck: (s, input) => out(recordAck(s, input)),
  recordAckShip: (s, input) => {
    const next = { ...recordAck(s, input), sentLsn: s.localDurableLsn };
    return out(next, { kind: "shipLogFrom", lsn: next.mirrorHardenedLsn + 1 });
  },
  recordAckShipAnnounce: (s, input) => {
    const next = { ...recordAck(s, input), sentLsn: s.localDurableLsn };
    return out(next, { kind: "shipLogFrom", lsn: next.mirrorHardenedLsn + 1 }, send(pingOf(next)));
  },
  recordAckAnnounce: (s, input) => {
    const next = recordAck(s, input);
    return out(next, send(pingOf(next)));
  },
  adoptStartSession: (s, input) => {
    const next = adoptConfig(s, input);
    return out(next, persist(next), { kind: "hardenLog" }, send(ackOf(next.hardenedLsn)));
  },
  adoptStartSessionQuiet: (s, input) => {
    const next = adoptConfig(s, input);
    return out(next, persist(next));
  },
  stepDown: (s, input) => {
    const adopted = adoptConfig(s, input);
    assert(adopted.failoverLsn <= s.localDurableLsn, "the failover LSN lies in our log");
    const next: SessionState = { ...adopted, role: MirroringRole.MIRROR, sentLsn: null, mirrorHardenedLsn: 0,
      draining: false, rewinding: true };
    return out(next, persist(next), { kind: "stopShipping" }, { kind: "disconnectUsers" },
      { kind: "becomeMirror", rewindToLsn: next.failoverLsn });
  },
  adoptSettings: (s, input) => {
    const m = messageOf(input, "settings");
    const next = { ...s, safety: m.safety, safetySequence: m.safetySequence, timeoutSeconds: m.timeoutSeconds };
    return out(next, persist(next));
  },
  recordHardened: (s, input) => {
    const lsn = lsnOf(input);
    return out({ ...s, hardenedLsn: lsn, endOfLogLsn: lsn }, send(ackOf(lsn)));
  },
  recordRedone: (s, input) => {
    const lsn = lsnOf(input);
    assert(lsn <= s.hardenedLsn, "redo never passes the hardened log");
    return out({ ...s, redoneLsn: lsn });
  },
  acceptFailover: (s, input) => {
    assert(input.kind === "failoverRequested" && s.hardenedLsn === input.failoverLsn, "failover LSN = our hardened end");
    return out({ ...s, failoverPending: true, failoverLsn: input.failoverLsn });
  },
  completeFailover: (s, input) => {
    assert(input.kind === "failoverRequested" && input.roleSequence === s.roleSequence, "failover at our role sequence");
    return becomeNewPrincipal({ ...s, failoverLsn: input.failoverLsn });
  },
  completeFailoverOnRedo: (s, input) => becomeNewPrincipal({ ...s, redoneLsn: lsnOf(input) }),
  suspendOnRedoError: (s) => {
    const next = suspended(s, s.suspendedSequence + 1);
    return persistAndSend(next, { kind: "suspend", suspendedSequence: next.suspendedSequence });
  },
  rewindDone: (s) => {
    const next = { ...s, rewinding: false, hardenedLsn: s.failoverLsn, redoneLsn: s.failoverLsn, endOfLogLsn: s.failoverLsn,
      localDurableLsn: s.failoverLsn };
    return out(next, { kind: "hardenLog" }, send(ackOf(next.hardenedLsn)));
  },
};
