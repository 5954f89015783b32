// The session transition table (STYLE.md L4): one row per documented behaviour, matched against a
// View snapshot built from the state and the input. Rows are disjoint: exactly one matches every
// valid view (asserted by decideSession and, for every view, by the tests), so order carries no
// meaning. LSN comparisons and sequence checks live in small functions that compute View fields.
import { decide, type Pattern, type Rule } from "../util/rules.js";
import { assert } from "../util/assert.js";
import { MirroringRole, mirroringStateDesc, type MirroringStateName } from "./codes.js";
import type { MirroringErrorNumber } from "./errors.js";
import type { GenericPartnerMessage, SessionInput, SessionInputKind, SessionState } from "./session_types.js";

export type ViewRole = "none" | "principal" | "mirror";
export type ViewState = MirroringStateName | "none";
export type ViewInput = Exclude<SessionInputKind, "messageFromPartner"> | `partner.${GenericPartnerMessage["kind"]}`;
/** How the partner's role and role sequence compare with ours (connected, startSession). */
export type PartnerRelation = "n/a" | "ours" | "theirs" | "conflict";

export interface SessionView {
  readonly role: ViewRole;
  readonly state: ViewState;
  readonly safety: "FULL" | "OFF" | "none";
  readonly connected: boolean;
  readonly input: ViewInput;
  /** Principal: the mirror has hardened everything durable here (the send queue is drained). */
  readonly caughtUp: boolean;
  /** Principal: the log shipper is running. */
  readonly streaming: boolean;
  /** Principal in PENDING_FAILOVER: the FAILOVER waits for the tail of the log to be hardened. */
  readonly draining: boolean;
  /** Connected, and this input ends the connection (hard error, or a tick past PARTNER TIMEOUT). */
  readonly lost: boolean;
  readonly partner: PartnerRelation;
  /** The principal's mirroring_state carried by startSession / ping; "n/a" for other inputs. */
  readonly announced: MirroringStateName | "n/a";
  /** Mirror: a FAILOVER waits for redo. */
  readonly failoverPending: boolean;
  /** Mirror (failoverRequested, redone): redo has reached the failover LSN. */
  readonly failoverRedone: boolean;
  readonly rewinding: boolean;
  /** timeout: the value is within 0..32767 (1476 otherwise). */
  readonly argumentOk: boolean;
}

export type NextState = MirroringStateName | "same" | "none";

export type ActionName =
  | "nothing" | "refuse" | "createPrincipal" | "createMirror" | "removeLocal" | "removeByPartner"
  | "suspendPrincipal" | "suspendMirror" | "adoptSuspendPrincipal" | "adoptSuspendMirror"
  | "resumePrincipal" | "adoptResume" | "adoptResumeQuiet" | "setSafety" | "setTimeout"
  | "startFailover" | "startFailoverDrain" | "recordAckSendFailover"
  | "principalConnected" | "markConnected" | "losePrincipal" | "loseMirror" | "ping"
  | "recordDurable" | "recordAck" | "recordAckShip" | "recordAckShipAnnounce" | "recordAckAnnounce"
  | "adoptStartSession" | "adoptStartSessionQuiet" | "stepDown" | "adoptSettings"
  | "recordHardened" | "recordRedone" | "acceptFailover" | "completeFailover" | "completeFailoverOnRedo"
  | "suspendOnRedoError" | "rewindDone";

export interface SessionDecision {
  readonly next: NextState;
  readonly action: ActionName;
  readonly error?: MirroringErrorNumber;
}

export type SessionRule = Rule<SessionView, SessionDecision>;

// ---- View ----

export function partnerRelation(state: SessionState, partnerRole: number, partnerSequence: number,
  partnerGuid: string | null): PartnerRelation {
  if (partnerGuid !== null && state.partnerInstanceGuid !== null && partnerGuid !== state.partnerInstanceGuid) {
    return "conflict"; // another instance answers at the partner's address
  }
  if (partnerRole === MirroringRole.PRINCIPAL && partnerSequence > state.roleSequence) return "theirs";
  if (state.role === MirroringRole.PRINCIPAL && partnerSequence < state.roleSequence) return "ours";
  if (partnerRole !== state.role && partnerSequence === state.roleSequence) return "ours";
  return "conflict";
}

export function isCaughtUp(state: SessionState, input: SessionInput): boolean {
  if (state.role !== MirroringRole.PRINCIPAL) return false;
  const hardened = input.kind === "mirrorHardened" ? input.lsn : state.mirrorHardenedLsn;
  return hardened >= state.localDurableLsn;
}

export function timeoutTicks(state: SessionState): number {
  return state.timeoutSeconds * state.ticksPerSecond;
}

function isLost(state: SessionState, input: SessionInput): boolean {
  if (!state.connected) return false;
  return input.kind === "disconnected" || (input.kind === "tick" && state.ticksSinceHeard + 1 > timeoutTicks(state));
}

function relationOf(state: SessionState, input: SessionInput): PartnerRelation {
  if (input.kind === "connected") {
    return partnerRelation(state, input.partnerRole, input.partnerRoleSequence, input.partnerInstanceGuid);
  }
  if (input.kind === "messageFromPartner" && input.message.kind === "startSession") {
    return partnerRelation(state, MirroringRole.PRINCIPAL, input.message.roleSequence, null);
  }
  return "n/a";
}

function announcedOf(input: SessionInput): MirroringStateName | "n/a" {
  if (input.kind !== "messageFromPartner") return "n/a";
  const message = input.message;
  if (message.kind === "ping") return mirroringStateDesc[message.state];
  if (message.kind === "startSession") return message.isSuspended ? "SUSPENDED" : "SYNCHRONIZING";
  return "n/a";
}

function failoverRedone(state: SessionState, input: SessionInput): boolean {
  if (state.role !== MirroringRole.MIRROR) return false;
  if (input.kind === "failoverRequested") return state.redoneLsn >= input.failoverLsn;
  if (input.kind === "redone" && state.failoverPending) return input.lsn >= state.failoverLsn;
  return false;
}

export function viewInput(input: SessionInput): ViewInput {
  return input.kind === "messageFromPartner" ? `partner.${input.message.kind}` : input.kind;
}

export function computeView(state: SessionState, input: SessionInput): SessionView {
  const role: ViewRole = state.role === null ? "none" : state.role === MirroringRole.PRINCIPAL ? "principal" : "mirror";
  return {
    role,
    state: state.state === null ? "none" : mirroringStateDesc[state.state],
    safety: state.role === null ? "none" : state.safety === 2 ? "FULL" : "OFF",
    connected: state.connected,
    input: viewInput(input),
    caughtUp: isCaughtUp(state, input),
    streaming: state.role === MirroringRole.PRINCIPAL && state.sentLsn !== null,
    draining: state.draining,
    lost: isLost(state, input),
    partner: relationOf(state, input),
    announced: announcedOf(input),
    failoverPending: state.failoverPending,
    failoverRedone: failoverRedone(state, input),
    rewinding: state.rewinding,
    argumentOk: input.kind !== "timeout" || (Number.isInteger(input.seconds) && input.seconds >= 0 && input.seconds <= 32767),
  };
}

// ---- Input groups ----

export const ADMIN_INPUTS = ["setPartnerAsMirror", "setPartnerAsPrincipal", "suspend", "resume", "off",
  "safety", "timeout", "failover"] as const satisfies readonly ViewInput[];
export const EVENT_INPUTS = ["connected", "disconnected", "tick", "localDurable", "mirrorHardened", "hardened",
  "redone", "redoError", "failoverRequested", "roleChangeDurable", "partner.startSession", "partner.suspend",
  "partner.resume", "partner.settings", "partner.off", "partner.ping"] as const satisfies readonly ViewInput[];
export const ALL_INPUTS: readonly ViewInput[] = [...ADMIN_INPUTS, ...EVENT_INPUTS];
/** Inputs that only a connected partner can cause. */
const FROM_PARTNER: readonly ViewInput[] = ["mirrorHardened", "failoverRequested", "partner.startSession",
  "partner.suspend", "partner.resume", "partner.settings", "partner.off", "partner.ping"];
const NEVER_ON_PRINCIPAL: readonly ViewInput[] = ["hardened", "redone", "redoError", "failoverRequested",
  "partner.resume", "partner.settings"];
const NEVER_ON_MIRROR: readonly ViewInput[] = ["localDurable", "mirrorHardened"];

/** Negative space: views the machine can never build. decideSession asserts it; tests enumerate it. */
export function invalidReason(v: SessionView): string | null {
  const none = v.role === "none";
  if (none !== (v.state === "none") || none !== (v.safety === "none")) return "role, state and safety are null together";
  if (none && (v.connected || v.draining || v.failoverPending || v.rewinding)) return "no session, no volatile state";
  if (v.role === "mirror" && v.state === "PENDING_FAILOVER") return "PENDING_FAILOVER appears only on the principal";
  if (v.role !== "principal" && (v.caughtUp || v.streaming || v.draining)) return "principal-only fields";
  if (v.role !== "mirror" && (v.failoverPending || v.failoverRedone || v.rewinding)) return "mirror-only fields";
  if (v.draining && v.state !== "PENDING_FAILOVER") return "draining only while PENDING_FAILOVER";
  if ((v.state === "SYNCHRONIZING" || v.state === "SYNCHRONIZED") && !v.connected) return "these states need the partner";
  if (v.state === "SYNCHRONIZED" && v.role === "principal" && !v.streaming) return "SYNCHRONIZED principal streams";
  if (v.failoverPending && !(v.connected && v.state === "SYNCHRONIZED" && v.safety === "FULL")) return "failover pending";
  if (v.failoverRedone && !(v.input === "failoverRequested" || (v.input === "redone" && v.failoverPending))) return "failoverRedone";
  if (v.failoverPending && v.input === "failoverRequested") return "one FAILOVER at a time";
  if (v.lost && !(v.connected && (v.input === "disconnected" || v.input === "tick"))) return "lost";
  if (v.input === "disconnected" && v.connected && !v.lost) return "a hard error ends the connection";
  if (v.input === "connected" && v.connected) return "connected twice";
  if (!none && !v.connected && FROM_PARTNER.includes(v.input)) return "message without a connection";
  if (v.role === "principal" && NEVER_ON_PRINCIPAL.includes(v.input)) return "mirror-only input";
  if (v.role === "mirror" && NEVER_ON_MIRROR.includes(v.input)) return "principal-only input";
  if (v.rewinding && (v.input === "hardened" || v.input === "redone" || v.input === "redoError")) return "no log while rewinding";
  if ((v.partner !== "n/a") !== (v.input === "connected" || v.input === "partner.startSession")) return "partner";
  const announces = v.input === "partner.startSession" || v.input === "partner.ping";
  if ((v.announced !== "n/a") !== announces) return "announced";
  if (v.input === "partner.startSession" && !["SUSPENDED", "SYNCHRONIZING"].includes(v.announced)) return "startSession state";
  if (!v.argumentOk && v.input !== "timeout") return "argumentOk";
  return null;
}

// ---- The table ----

type P = Pattern<SessionView>;
const PRINCIPAL = { role: ["principal"] } as const satisfies P;
const MIRROR = { role: ["mirror"] } as const satisfies P;
const PARTNERS: P["role"] = ["principal", "mirror"];
const ACTIVE: readonly MirroringStateName[] = ["SYNCHRONIZING", "SYNCHRONIZED"];
const NOT_PENDING: readonly MirroringStateName[] = ["SUSPENDED", "DISCONNECTED", "SYNCHRONIZING", "SYNCHRONIZED"];
const CONFIG_CHANGES: readonly ViewInput[] = ["suspend", "resume", "safety", "timeout"];

function row(id: string, when: P, next: NextState, action: ActionName, why: string, error?: MirroringErrorNumber): SessionRule {
  return { id, when, decision: error === undefined ? { next, action } : { next, action, error }, why };
}

export const sessionRules: readonly SessionRule[] = [
  // -- No session yet (or removed): SET PARTNER creates one; everything else does not apply.
  row("none.set_partner_as_mirror", { role: ["none"], input: ["setPartnerAsMirror"] }, "DISCONNECTED", "createPrincipal",
    "SET PARTNER naming the mirror makes this copy the principal, SAFETY FULL; it connects next (§1.2)."),
  row("none.set_partner_as_principal", { role: ["none"], input: ["setPartnerAsPrincipal"] }, "DISCONNECTED", "createMirror",
    "SET PARTNER on the RESTORING copy, naming the principal, makes it the mirror; it waits for the principal (§2.10)."),
  row("none.not_configured", { role: ["none"], input: ["suspend", "resume", "off", "safety", "timeout", "failover"] },
    "same", "refuse", "Partner options need a mirroring session.", 1416),
  row("none.ignore_events", { role: ["none"], input: EVENT_INPUTS }, "same", "nothing",
    "No session: late partner traffic after SET PARTNER OFF is dropped; the partner learns on reconnect (§2.8)."),
  // -- Admin commands on either partner.
  row("partner.set_partner.already", { role: PARTNERS, input: ["setPartnerAsMirror", "setPartnerAsPrincipal"] }, "same",
    "refuse", "A database takes part in one session only.", 1405),
  row("partner.off", { role: PARTNERS, input: ["off"] }, "none", "removeLocal",
    "SET PARTNER OFF runs on either partner, in any state, and drops all session metadata (§2.8)."),
  row("partner.off_from_partner", { role: PARTNERS, input: ["partner.off"] }, "none", "removeByPartner",
    "The partner removed the session; so do we. The mirror copy stays RESTORING (§2.8)."),
  // -- Principal admin commands.
  row("principal.admin.disconnected", { ...PRINCIPAL, connected: [false], state: NOT_PENDING, input: CONFIG_CHANGES,
    argumentOk: [true] }, "same", "refuse", "Configuration changes travel to the partner, which is not connected.", 1447),
  row("principal.admin.pending_failover", { ...PRINCIPAL, state: ["PENDING_FAILOVER"],
    input: [...CONFIG_CHANGES, "failover"], argumentOk: [true] }, "same", "refuse", "A failover is under way.", 952),
  row("principal.suspend", { ...PRINCIPAL, connected: [true], state: ACTIVE, input: ["suspend"] }, "SUSPENDED",
    "suspendPrincipal", "SUSPEND: stop sending log and run exposed; the suspension is persisted (§2.8)."),
  row("principal.admin.awaiting_new_principal", { ...PRINCIPAL, connected: [true], state: ["DISCONNECTED"],
    input: CONFIG_CHANGES, argumentOk: [true] }, "same", "refuse",
    "The partner took over the principal role; this copy is about to become its mirror.", 952),
  row("principal.suspend.already", { ...PRINCIPAL, connected: [true], state: ["SUSPENDED"], input: ["suspend"] },
    "same", "nothing", "Already suspended."),
  row("principal.resume", { ...PRINCIPAL, connected: [true], state: ["SUSPENDED"], input: ["resume"] }, "SYNCHRONIZING",
    "resumePrincipal", "RESUME: persist, tell the mirror, and ship from where the mirror says it is (§2.8)."),
  row("principal.resume.not_suspended", { ...PRINCIPAL, connected: [true], state: ACTIVE, input: ["resume"] },
    "same", "nothing", "RESUME of a session that is not suspended changes nothing."),
  row("principal.safety", { ...PRINCIPAL, connected: [true], state: ["SUSPENDED", "SYNCHRONIZING"],
    input: ["safety"] }, "same", "setSafety", "SAFETY runs on the principal; the mirror adopts the new safety sequence."),
  row("principal.safety.synchronized", { ...PRINCIPAL, state: ["SYNCHRONIZED"], caughtUp: [true], input: ["safety"] },
    "same", "setSafety", "Nothing waits for the mirror, so the session stays SYNCHRONIZED under either safety."),
  row("principal.safety.synchronized_behind", { ...PRINCIPAL, state: ["SYNCHRONIZED"], caughtUp: [false], input: ["safety"] },
    "SYNCHRONIZING", "setSafety", "Log is unhardened on the mirror: re-enter SYNCHRONIZING so FULL never claims commits it did not wait for."),
  row("principal.timeout", { ...PRINCIPAL, connected: [true], state: ["SUSPENDED", ...ACTIVE], input: ["timeout"], argumentOk: [true] },
    "same", "setTimeout", "TIMEOUT runs on the principal; 0–4 is stored as 5 (§1.4)."),
  row("principal.timeout.too_large", { ...PRINCIPAL, input: ["timeout"], argumentOk: [false] }, "same", "refuse",
    "PARTNER TIMEOUT is at most 32767 seconds (§1.4).", 1476),
  row("principal.failover.not_full", { ...PRINCIPAL, state: NOT_PENDING, safety: ["OFF"], input: ["failover"] }, "same",
    "refuse", "Manual failover needs SAFETY FULL (§2.6).", 1477),
  row("principal.failover.not_synchronized", { ...PRINCIPAL, state: ["SUSPENDED", "DISCONNECTED", "SYNCHRONIZING"],
    safety: ["FULL"], input: ["failover"] }, "same", "refuse", "Manual failover needs a SYNCHRONIZED mirror (§2.6).", 1422),
  row("principal.failover", { ...PRINCIPAL, state: ["SYNCHRONIZED"], safety: ["FULL"], caughtUp: [true], input: ["failover"] },
    "PENDING_FAILOVER", "startFailover", "Everything durable is hardened on the mirror: disconnect users and hand over at that LSN."),
  row("principal.failover.drain", { ...PRINCIPAL, state: ["SYNCHRONIZED"], safety: ["FULL"], caughtUp: [false], input: ["failover"] },
    "PENDING_FAILOVER", "startFailoverDrain", "Disconnect users, then wait for the mirror to harden the tail before handing over."),
  // -- Mirror admin commands.
  row("mirror.principal_only", { ...MIRROR, input: ["resume", "safety", "timeout", "failover"] }, "same", "refuse",
    "RESUME, SAFETY, TIMEOUT and FAILOVER run on the principal (§2.10; RESUME per the reference, §0.2).", 1470),
  row("mirror.suspend", { ...MIRROR, connected: [true], state: ACTIVE, failoverPending: [false], input: ["suspend"] },
    "SUSPENDED", "suspendMirror", "SUSPEND may run on either partner; the principal then runs exposed (§2.8)."),
  row("mirror.suspend.failover_pending", { ...MIRROR, failoverPending: [true], input: ["suspend"] }, "same", "refuse",
    "A failover is under way.", 952),
  row("mirror.suspend.already", { ...MIRROR, connected: [true], state: ["SUSPENDED"], input: ["suspend"] },
    "same", "nothing", "Already suspended."),
  row("mirror.suspend.not_started", { ...MIRROR, connected: [true], state: ["DISCONNECTED"], input: ["suspend"] },
    "same", "refuse", "Connected, but the principal has not announced the session yet.", 952),
  row("mirror.suspend.disconnected", { ...MIRROR, connected: [false], input: ["suspend"] }, "same", "refuse",
    "The suspension must reach the principal, which is not connected.", 1447),
  // -- Connection.
  row("principal.connected", { ...PRINCIPAL, input: ["connected"], partner: ["ours"], state: ["DISCONNECTED", "PENDING_FAILOVER"] },
    "SYNCHRONIZING", "principalConnected", "Partner is our mirror (a failover did not complete): start the session, catch it up (§2.2)."),
  row("principal.connected.suspended", { ...PRINCIPAL, input: ["connected"], partner: ["ours"], state: ["SUSPENDED"] },
    "same", "principalConnected", "A suspended session stays SUSPENDED across reconnects (§2.1)."),
  row("principal.connected.partner_took_over", { ...PRINCIPAL, input: ["connected"], partner: ["theirs"] }, "same",
    "markConnected", "The partner owns the principal role at a newer sequence; its startSession makes us the mirror."),
  row("partner.connected.conflict", { role: PARTNERS, input: ["connected"], partner: ["conflict"] }, "same", "nothing",
    "Roles or instance do not fit ours (two principals at one sequence?): stay disconnected, never serve both."),
  row("mirror.connected", { ...MIRROR, input: ["connected"], partner: ["ours", "theirs"] }, "same", "markConnected",
    "The principal will announce the session; the mirror waits for its startSession."),
  row("principal.lost.active", { ...PRINCIPAL, lost: [true], state: ACTIVE }, "DISCONNECTED", "losePrincipal",
    "Mirror lost (timeout or hard error): release waiting commits and keep serving, exposed (§2.4, §0.2 item 2)."),
  row("principal.lost.keep_state", { ...PRINCIPAL, lost: [true], state: ["SUSPENDED", "DISCONNECTED", "PENDING_FAILOVER"] },
    "same", "losePrincipal", "SUSPENDED persists; PENDING_FAILOVER keeps users out until reconnecting tells who is principal."),
  row("mirror.lost.active", { ...MIRROR, lost: [true], state: [...ACTIVE, "DISCONNECTED"] }, "DISCONNECTED", "loseMirror",
    "Principal lost: without a witness the mirror waits; a pending failover is abandoned."),
  row("mirror.lost.suspended", { ...MIRROR, lost: [true], state: ["SUSPENDED"] }, "same", "loseMirror",
    "The suspension persists while disconnected."),
  row("partner.tick.alive", { role: PARTNERS, input: ["tick"], connected: [true], lost: [false] }, "same", "ping",
    "Ping on every tick so the partner's timeout counter restarts (§1.4)."),
  row("partner.idle", { role: PARTNERS, input: ["tick", "disconnected"], connected: [false] }, "same", "nothing",
    "Nothing to time out, nothing to close."),
  // -- Principal log flow.
  row("principal.local_durable", { ...PRINCIPAL, input: ["localDurable"] }, "same", "recordDurable",
    "Local log is durable; it may be shipped, and commits may be acknowledged as acknowledgeableLsn allows."),
  row("principal.ack.first", { ...PRINCIPAL, state: ["SYNCHRONIZING"], streaming: [false], caughtUp: [false], input: ["mirrorHardened"] },
    "same", "recordAckShip", "The mirror said where its log ends: ship from the next LSN."),
  row("principal.ack.first.caught_up", { ...PRINCIPAL, state: ["SYNCHRONIZING"], streaming: [false], caughtUp: [true],
    input: ["mirrorHardened"] }, "SYNCHRONIZED", "recordAckShipAnnounce", "The mirror already has everything: SYNCHRONIZED at once."),
  row("principal.ack.behind", { ...PRINCIPAL, state: ["SYNCHRONIZING"], streaming: [true], caughtUp: [false], input: ["mirrorHardened"] },
    "same", "recordAck", "Catching up: the send queue is not drained yet."),
  row("principal.ack.caught_up", { ...PRINCIPAL, state: ["SYNCHRONIZING"], streaming: [true], caughtUp: [true], input: ["mirrorHardened"] },
    "SYNCHRONIZED", "recordAckAnnounce", "Send queue drained: SYNCHRONIZED; in SAFETY FULL commits now wait for the mirror (§2.2)."),
  row("principal.ack.synchronized", { ...PRINCIPAL, state: ["SYNCHRONIZED"], input: ["mirrorHardened"] }, "same", "recordAck",
    "Stays SYNCHRONIZED while connected (FULL: commits wait; OFF: the queue drains asynchronously)."),
  row("principal.ack.not_streaming", { ...PRINCIPAL, state: ["SUSPENDED", "DISCONNECTED"], input: ["mirrorHardened"] },
    "same", "recordAck", "A late acknowledgement is recorded; no log is shipped in this state."),
  row("principal.ack.pending.drained", { ...PRINCIPAL, state: ["PENDING_FAILOVER"], draining: [true], caughtUp: [true],
    input: ["mirrorHardened"] }, "same", "recordAckSendFailover", "The tail is hardened on the mirror: persist and send the failover LSN."),
  row("principal.ack.pending.draining", { ...PRINCIPAL, state: ["PENDING_FAILOVER"], draining: [true], caughtUp: [false],
    input: ["mirrorHardened"] }, "same", "recordAck", "Still waiting for the tail of the log."),
  row("principal.ack.pending.sent", { ...PRINCIPAL, state: ["PENDING_FAILOVER"], draining: [false], input: ["mirrorHardened"] },
    "same", "recordAck", "FAILOVER already sent; the acknowledgement is only recorded."),
  // -- Partner announcements.
  row("principal.start.partner_took_over", { ...PRINCIPAL, input: ["partner.startSession"], partner: ["theirs"],
    announced: ["SYNCHRONIZING"] }, "SYNCHRONIZING", "stepDown",
    "The partner is principal at a newer sequence: become the mirror, rewound to the failover LSN (§2.5 step 5, §2.6)."),
  row("principal.start.partner_took_over.suspended", { ...PRINCIPAL, input: ["partner.startSession"], partner: ["theirs"],
    announced: ["SUSPENDED"] }, "SUSPENDED", "stepDown", "As above, and the new principal's session is SUSPENDED (§2.7)."),
  row("principal.start.not_newer", { ...PRINCIPAL, input: ["partner.startSession"], partner: ["ours", "conflict"] }, "same",
    "nothing", "Only a newer role sequence can take the principal role away; the stale partner steps down on ours."),
  row("mirror.start", { ...MIRROR, input: ["partner.startSession"], partner: ["ours", "theirs"], announced: ["SYNCHRONIZING"],
    rewinding: [false] }, "SYNCHRONIZING", "adoptStartSession", "Adopt the principal's settings and tell it where our log ends (§2.2)."),
  row("mirror.start.quiet", { ...MIRROR, input: ["partner.startSession"], partner: ["ours", "theirs"], announced: ["SYNCHRONIZING"],
    rewinding: [true] }, "SYNCHRONIZING", "adoptStartSessionQuiet", "Adopt the settings; our log end is announced once the rewind is durable."),
  row("mirror.start.suspended", { ...MIRROR, input: ["partner.startSession"], partner: ["ours", "theirs"], announced: ["SUSPENDED"] },
    "SUSPENDED", "adoptStartSessionQuiet", "The session is suspended: adopt the settings, accept no log until RESUME."),
  row("mirror.start.conflict", { ...MIRROR, input: ["partner.startSession"], partner: ["conflict"] }, "same", "nothing",
    "A principal at an older sequence or another instance cannot lead this mirror."),
  row("principal.partner_suspend", { ...PRINCIPAL, input: ["partner.suspend"], state: ACTIVE },
    "SUSPENDED", "adoptSuspendPrincipal", "The mirror suspended the session: stop shipping, run exposed."),
  row("principal.partner_suspend.draining", { ...PRINCIPAL, input: ["partner.suspend"], state: ["PENDING_FAILOVER"],
    draining: [true] }, "SUSPENDED", "adoptSuspendPrincipal",
    "The mirror suspended before our FAILOVER left (we were still draining): the failover is abandoned, run exposed."),
  row("principal.partner_suspend.failover_sent", { ...PRINCIPAL, input: ["partner.suspend"], state: ["PENDING_FAILOVER"],
    draining: [false] }, "same", "losePrincipal",
    "The mirror suspended before it read our FAILOVER, which may still make it principal (a RESUME of ours may reach it "
    + "first): drop the connection and keep users out until reconnecting tells who is principal (found by the simulator)."),
  row("mirror.partner_suspend", { ...MIRROR, input: ["partner.suspend"], state: ACTIVE }, "SUSPENDED", "adoptSuspendMirror",
    "The principal suspended the session."),
  row("partner.partner_suspend.already", { role: PARTNERS, input: ["partner.suspend"], state: ["SUSPENDED", "DISCONNECTED"] },
    "same", "nothing", "Already suspended, or not in a running session."),
  row("mirror.partner_resume", { ...MIRROR, input: ["partner.resume"], state: ["SUSPENDED"], rewinding: [false] },
    "SYNCHRONIZING", "adoptResume", "RESUME: persist, then tell the principal where our log ends so it ships from there (§2.8)."),
  row("mirror.partner_resume.rewinding", { ...MIRROR, input: ["partner.resume"], state: ["SUSPENDED"], rewinding: [true] },
    "SYNCHRONIZING", "adoptResumeQuiet", "RESUME during a rewind: persist it; our log end is announced once the rewind is durable."),
  row("mirror.partner_resume.not_suspended", { ...MIRROR, input: ["partner.resume"], state: [...ACTIVE, "DISCONNECTED"] },
    "same", "nothing", "Not suspended here; nothing to resume."),
  row("mirror.settings", { ...MIRROR, input: ["partner.settings"] }, "same", "adoptSettings",
    "The principal changed SAFETY or TIMEOUT; the mirror persists the newer values."),
  row("principal.ping", { ...PRINCIPAL, input: ["partner.ping"] }, "same", "nothing", "A heartbeat; it restarted the timeout."),
  row("mirror.ping.synchronized", { ...MIRROR, input: ["partner.ping"], state: ACTIVE, announced: ["SYNCHRONIZED"] },
    "SYNCHRONIZED", "nothing", "Both partners report the principal's state (§2.1)."),
  row("mirror.ping.synchronizing", { ...MIRROR, input: ["partner.ping"], state: ACTIVE, announced: ["SYNCHRONIZING"] },
    "SYNCHRONIZING", "nothing", "Both partners report the principal's state (§2.1)."),
  row("mirror.ping.keep", { ...MIRROR, input: ["partner.ping"], state: ACTIVE,
    announced: ["SUSPENDED", "DISCONNECTED", "PENDING_FAILOVER"] }, "same", "nothing",
    "Suspension and failover arrive as their own messages; a heartbeat does not change them."),
  row("mirror.ping.local", { ...MIRROR, input: ["partner.ping"], state: ["SUSPENDED", "DISCONNECTED"] }, "same", "nothing",
    "Suspended or not yet started: the principal's startSession or RESUME changes this state."),
  // -- Mirror log flow and failover.
  row("mirror.hardened", { ...MIRROR, input: ["hardened"] }, "same", "recordHardened",
    "Harden before acknowledging: the log is on disk, so tell the principal (§1.3)."),
  row("mirror.redone", { ...MIRROR, input: ["redone"], failoverPending: [false] }, "same", "recordRedone", "Redo progress."),
  row("mirror.redone.failover_waits", { ...MIRROR, input: ["redone"], failoverPending: [true], failoverRedone: [false] },
    "same", "recordRedone", "The failover waits for the redo queue to drain (§2.6 step 3)."),
  row("mirror.redone.completes_failover", { ...MIRROR, input: ["redone"], failoverPending: [true], failoverRedone: [true] },
    "SYNCHRONIZING", "completeFailoverOnRedo", "Redo reached the failover LSN: take the principal role (§2.6 step 4)."),
  row("mirror.redo_error", { ...MIRROR, input: ["redoError"] }, "SUSPENDED", "suspendOnRedoError",
    "A redo error suspends the session (§2.1)."),
  row("mirror.failover", { ...MIRROR, input: ["failoverRequested"], state: ["SYNCHRONIZED"], safety: ["FULL"], failoverRedone: [true] },
    "SYNCHRONIZING", "completeFailover", "Everything up to the failover LSN is redone: take the principal role now."),
  row("mirror.failover.redo_pending", { ...MIRROR, input: ["failoverRequested"], state: ["SYNCHRONIZED"], safety: ["FULL"],
    failoverRedone: [false] }, "same", "acceptFailover", "Record the failover LSN and drain the redo queue first (§2.6 steps 2–3)."),
  row("mirror.failover.not_ready", { ...MIRROR, input: ["failoverRequested"], state: ["SUSPENDED", "DISCONNECTED", "SYNCHRONIZING"] },
    "same", "nothing", "Not SYNCHRONIZED here (a racing SUSPEND): the principal resolves it on reconnect."),
  row("mirror.failover.not_full", { ...MIRROR, input: ["failoverRequested"], state: ["SYNCHRONIZED"], safety: ["OFF"] },
    "same", "nothing", "Safety changed under the request: no failover without SAFETY FULL."),
  row("mirror.rewind_done", { ...MIRROR, input: ["roleChangeDurable"], rewinding: [true] }, "same", "rewindDone",
    "The log is truncated to the failover LSN on disk: accept log again and say where it ends."),
  row("partner.role_change_done", { role: PARTNERS, input: ["roleChangeDurable"], rewinding: [false] }, "same", "nothing",
    "The new principal needs nothing more from its completed role change."),
];

/** The rows that can match an input (those naming it, and those that match any input). */
const rulesByInput = new Map<ViewInput, readonly SessionRule[]>();
function rulesFor(input: ViewInput): readonly SessionRule[] {
  let rows = rulesByInput.get(input);
  if (rows === undefined) {
    rows = sessionRules.filter((rule) => rule.when.input === undefined || rule.when.input.includes(input));
    rulesByInput.set(input, rows);
  }
  return rows;
}

/** Decisions already made, by view: the table is pure, so a view decides the same rule every time. */
const decided = new Map<string, SessionRule>();
/** Far above the views a session meets in practice; the map is only ever a cache. */
const DECIDED_VIEWS_MAX = 4096;

/** Every field of a view, in a fixed order (the type check below fails when a field is missing). */
export const VIEW_FIELDS = ["role", "state", "safety", "connected", "input", "caughtUp", "streaming", "draining", "lost",
  "partner", "announced", "failoverPending", "failoverRedone", "rewinding", "argumentOk"] as const;
const everyViewField: Exclude<keyof SessionView, (typeof VIEW_FIELDS)[number]> extends never ? true : never = true;
assert(everyViewField, "every view field is in the key");

/**
 * The cache key of a view: every field of VIEW_FIELDS, in order (a test changes each field in
 * turn and checks the key changes). Named loads, not a loop over the names: a keyed load per
 * field went megamorphic and cost more than the decision it saved.
 */
export function sessionViewKey(v: SessionView): string {
  return `${v.role}|${v.state}|${v.safety}|${v.connected}|${v.input}|${v.caughtUp}|${v.streaming}|${v.draining}`
    + `|${v.lost}|${v.partner}|${v.announced}|${v.failoverPending}|${v.failoverRedone}|${v.rewinding}|${v.argumentOk}`;
}

/**
 * Exactly one row matches (asserted the first time each view is seen; the tests enumerate every
 * view). Rows naming another input cannot match, so only the rows that name this input or none
 * are examined. A session meets a handful of views again and again (every durable log advance
 * on a principal is the same view), so each is decided once and then looked up.
 */
export function decideSession(view: SessionView): SessionRule {
  const key = sessionViewKey(view);
  const known = decided.get(key);
  if (known !== undefined) return known;
  const reason = invalidReason(view);
  assert(reason === null, `invalid session view (${reason}): ${JSON.stringify(view)}`);
  const rule = decide("session", rulesFor(view.input), view);
  if (decided.size >= DECIDED_VIEWS_MAX) decided.clear();
  decided.set(key, rule);
  return rule;
}
