// SQL Server error numbers and texts the session machine refuses with. They are not yet in
// src/errors/catalog*.ts (which this subsystem may not edit); the integrator moves them there.
// Texts are SQL Server's, with %s / %d placeholders (spec/mirroring.md §5, §2.6, §2.10).
// The machine reports a refusal as data: { kind: "refuse", number, message }.

export interface MirroringErrorEntry {
  readonly number: number;
  readonly symbol: string;
  readonly severity: number;
  readonly text: string;
}

export const mirroringErrors = {
  952: { number: 952, symbol: "DB_IN_TRANSITION", severity: 16,
    text: "Database '%s' is in transition. Try the statement later." },
  1405: { number: 1405, symbol: "DBM_ALREADY_ENABLED", severity: 16,
    text: "The database \"%s\" is already enabled for database mirroring." },
  1416: { number: 1416, symbol: "DBM_NOT_CONFIGURED", severity: 16,
    text: "Database \"%s\" is not configured for database mirroring." },
  1422: { number: 1422, symbol: "DBM_NOT_CAUGHT_UP", severity: 16,
    text: "The mirror server instance is not caught up to the recent changes to database \"%s\". Unable to fail over." },
  1447: { number: 1447, symbol: "DBM_PARTNERS_NOT_CONNECTED", severity: 16,
    text: "ALTER DATABASE \"%s\" command cannot be executed until both partner server instances are up, running, and connected. Start the partner and reissue the command." },
  1470: { number: 1470, symbol: "DBM_PRINCIPAL_ONLY", severity: 16,
    text: "The alter database for this partner config values may only be initiated on the current principal server for database \"%s\"." },
  1476: { number: 1476, symbol: "DBM_TIMEOUT_TOO_LARGE", severity: 16,
    text: "Database mirroring timeout value %d exceeds the maximum value 32767." },
  1477: { number: 1477, symbol: "DBM_FAILOVER_NEEDS_FULL", severity: 16,
    text: "The database mirroring safety level must be FULL to manually failover database \"%s\". Set safety level to FULL and retry." },
  1479: { number: 1479, symbol: "DBM_CONNECTION_TIMEOUT", severity: 16,
    text: "The mirroring connection to \"%s\" has timed out for database \"%s\" after %d seconds without a response. Check the service and network connections." },
} as const satisfies Record<number, MirroringErrorEntry>;

export type MirroringErrorNumber = keyof typeof mirroringErrors;

/** The message text with the arguments filled in, in the order SQL Server fills them. */
export function mirroringErrorMessage(number: MirroringErrorNumber, args: readonly (string | number)[]): string {
  let next = 0;
  return mirroringErrors[number].text.replace(/%[sd]/g, () => String(args[next++] ?? ""));
}
