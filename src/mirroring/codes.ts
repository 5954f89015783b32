// SQL Server's own mirroring vocabulary (spec/mirroring.md §2.1, §4.1). The numeric values ARE the
// codes sys.database_mirroring reports, so the catalog view is a projection, not a translation.

export const MirroringState = {
  SUSPENDED: 0,
  DISCONNECTED: 1,
  SYNCHRONIZING: 2,
  PENDING_FAILOVER: 3,
  SYNCHRONIZED: 4,
} as const;
export type MirroringStateName = keyof typeof MirroringState;
export type MirroringStateCode = (typeof MirroringState)[MirroringStateName];

export const MirroringRole = { PRINCIPAL: 1, MIRROR: 2 } as const;
export type MirroringRoleName = keyof typeof MirroringRole;
export type MirroringRoleCode = (typeof MirroringRole)[MirroringRoleName];

export const SafetyLevel = { UNKNOWN: 0, OFF: 1, FULL: 2 } as const;
export type SafetyLevelName = keyof typeof SafetyLevel;
export type SafetyLevelCode = (typeof SafetyLevel)[SafetyLevelName];

export const WitnessState = { UNKNOWN: 0, CONNECTED: 1, DISCONNECTED: 2 } as const;
export type WitnessStateName = keyof typeof WitnessState;
export type WitnessStateCode = (typeof WitnessState)[WitnessStateName];

/** Inverts a name → code object into the *_desc lookup the DMV shows next to each code. */
function descriptions<N extends string, C extends number>(codes: Readonly<Record<N, C>>): Readonly<Record<C, N>> {
  const out = {} as Record<C, N>;
  for (const name of Object.keys(codes) as N[]) out[codes[name]] = name;
  return out;
}

export const mirroringStateDesc = descriptions(MirroringState);
export const mirroringRoleDesc = descriptions(MirroringRole);
export const safetyLevelDesc = descriptions(SafetyLevel);
export const witnessStateDesc = descriptions(WitnessState);
