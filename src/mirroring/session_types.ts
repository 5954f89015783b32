// Data shapes of the per-database mirroring session machine: state, inputs, partner messages and
// effects. Pure data; session.ts steps it, session_rules.ts decides, session_actions.ts carries out.
import type { MirroringRoleCode, MirroringStateCode, SafetyLevelCode, WitnessStateCode } from "./codes.js";
import type { MirroringErrorNumber } from "./errors.js";

/** What survives a restart (fsynced before any message announcing it is sent). */
export interface PersistedSession {
  readonly databaseName: string;
  readonly role: MirroringRoleCode;
  readonly partnerAddress: string;
  readonly partnerInstanceGuid: string | null;
  readonly safety: SafetyLevelCode;
  readonly roleSequence: number;
  readonly safetySequence: number;
  readonly suspendedSequence: number;
  readonly isSuspended: boolean;
  readonly mirroringGuid: string | null;
  readonly timeoutSeconds: number;
  /** Latest LSN known hardened on both partners: where both reconcile after a role switch. */
  readonly failoverLsn: number;
}

/** The persisted fields plus the volatile ones; role === null: not mirrored (the DMV shows NULLs). */
export interface SessionState extends Omit<PersistedSession, "role" | "partnerAddress"> {
  readonly role: MirroringRoleCode | null;
  readonly partnerAddress: string | null;
  // The witness and quorum are a later row set; until then no witness is ever configured.
  readonly witnessAddress: null;
  readonly witnessState: WitnessStateCode | null;
  // Volatile: rebuilt after a restart from the persisted fields and the log.
  /** mirroring_state; null when not mirrored. */
  readonly state: MirroringStateCode | null;
  readonly connected: boolean;
  readonly ticksSinceHeard: number;
  /** How many ticks make one second (PARTNER TIMEOUT is in seconds, the machine counts ticks). */
  readonly ticksPerSecond: number;
  // Principal side.
  /** Highest LSN handed to the log shipper (it ships only durable log); null when not streaming. */
  readonly sentLsn: number | null;
  readonly mirrorHardenedLsn: number;
  readonly localDurableLsn: number;
  readonly endOfLogLsn: number;
  /** Highest commit LSN already reported to clients; never decreases while principal. */
  readonly acknowledgedLsn: number;
  /** PENDING_FAILOVER: users are gone, the tail of the log is still on its way to the mirror. */
  readonly draining: boolean;
  // Mirror side.
  readonly hardenedLsn: number;
  readonly redoneLsn: number;
  /** A FAILOVER from the principal waits for redo to reach failoverLsn. */
  readonly failoverPending: boolean;
  /** becomeMirror is truncating the log to failoverLsn; nothing may be acknowledged meanwhile. */
  readonly rewinding: boolean;
}

export type SafetyName = "FULL" | "OFF";

export type PartnerMessage =
  | { readonly kind: "startSession"; readonly mirroringGuid: string | null; readonly roleSequence: number;
      readonly safety: SafetyLevelCode; readonly safetySequence: number; readonly timeoutSeconds: number;
      readonly isSuspended: boolean; readonly suspendedSequence: number; readonly failoverLsn: number }
  | { readonly kind: "ackHardened"; readonly lsn: number }
  | { readonly kind: "suspend"; readonly suspendedSequence: number }
  | { readonly kind: "resume"; readonly suspendedSequence: number }
  | { readonly kind: "settings"; readonly safety: SafetyLevelCode; readonly safetySequence: number;
      readonly timeoutSeconds: number }
  | { readonly kind: "off" }
  | { readonly kind: "failover"; readonly failoverLsn: number; readonly roleSequence: number }
  /** Heartbeat; carries the sender's mirroring_state so the mirror can adopt the principal's. */
  | { readonly kind: "ping"; readonly state: MirroringStateCode };

/** Messages that arrive as messageFromPartner (the others have inputs of their own). */
export type GenericPartnerMessage = Exclude<PartnerMessage, { kind: "ackHardened" | "failover" }>;

export type SessionInput =
  // Admin commands (ALTER DATABASE … SET PARTNER …).
  | { readonly kind: "setPartnerAsMirror"; readonly address: string; readonly mirroringGuid: string }
  | { readonly kind: "setPartnerAsPrincipal"; readonly address: string }
  | { readonly kind: "suspend" }
  | { readonly kind: "resume" }
  | { readonly kind: "off" }
  | { readonly kind: "safety"; readonly level: SafetyName }
  | { readonly kind: "timeout"; readonly seconds: number }
  | { readonly kind: "failover" }
  // Events.
  | { readonly kind: "connected"; readonly partnerInstanceGuid: string; readonly partnerRole: MirroringRoleCode;
      readonly partnerRoleSequence: number }
  | { readonly kind: "disconnected" }
  | { readonly kind: "tick" }
  | { readonly kind: "messageFromPartner"; readonly message: GenericPartnerMessage }
  | { readonly kind: "localDurable"; readonly lsn: number }
  | { readonly kind: "mirrorHardened"; readonly lsn: number }
  | { readonly kind: "hardened"; readonly lsn: number }
  | { readonly kind: "redone"; readonly lsn: number }
  | { readonly kind: "redoError" }
  | { readonly kind: "failoverRequested"; readonly failoverLsn: number; readonly roleSequence: number }
  | { readonly kind: "roleChangeDurable" };

export type SessionInputKind = SessionInput["kind"];

export type SessionEffect =
  /** Fsync these fields (null: the session was removed) before carrying out any later effect. */
  | { readonly kind: "persist"; readonly session: PersistedSession | null }
  | { readonly kind: "send"; readonly message: PartnerMessage }
  | { readonly kind: "shipLogFrom"; readonly lsn: number }
  | { readonly kind: "stopShipping" }
  | { readonly kind: "hardenLog" }
  /** Commits whose record ends at or below lsn may now be reported to their clients. */
  | { readonly kind: "acknowledgeCommitsUpTo"; readonly lsn: number }
  | { readonly kind: "disconnectUsers" }
  | { readonly kind: "becomePrincipal" }
  | { readonly kind: "becomeMirror"; readonly rewindToLsn: number }
  | { readonly kind: "removeSession" }
  | { readonly kind: "refuse"; readonly number: MirroringErrorNumber; readonly message: string }
  | { readonly kind: "log"; readonly rule: string; readonly why: string };

export interface StepResult {
  readonly state: SessionState;
  readonly effects: readonly SessionEffect[];
}
