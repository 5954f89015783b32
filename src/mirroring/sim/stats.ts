// What one simulated seed went through: the coverage a run reports (and the tests assert).
export interface SimStats {
  steps: number;
  commits: number;
  acknowledged: number;
  protectedAcks: number;
  failoverRequests: number;
  failovers: number;
  rewinds: number;
  rewindsAtRestart: number;
  crashes: number;
  midEffectCrashes: number;
  restarts: number;
  tornTails: number;
  recordsLostInCrashes: number;
  cuts: number;
  partitions: number;
  timeouts: number;
  connects: number;
  safetyOff: number;
  suspends: number;
  redoErrors: number;
  blocksShipped: number;
  blocksDropped: number;
  duplicatesSkipped: number;
  healReconnects: number;
  /** Commits acknowledged while running exposed that the final history does not hold (allowed). */
  exposedLost: number;
}

export type StatName = keyof SimStats;

export function newStats(): SimStats {
  return { steps: 0, commits: 0, acknowledged: 0, protectedAcks: 0, failoverRequests: 0, failovers: 0, rewinds: 0,
    rewindsAtRestart: 0, crashes: 0, midEffectCrashes: 0, restarts: 0, tornTails: 0, recordsLostInCrashes: 0, cuts: 0,
    partitions: 0, timeouts: 0, connects: 0, safetyOff: 0, suspends: 0, redoErrors: 0, blocksShipped: 0,
    blocksDropped: 0, duplicatesSkipped: 0, healReconnects: 0, exposedLost: 0 };
}
