// The SQL Server errors the session machine refuses with, by number (it reports a refusal as
// data: { kind: "refuse", number, message }). Texts come from the one catalog
// (src/errors/catalog_mirroring.ts), so the runtime can raise the same error as a SqlError.
import { errorCatalog, type ErrorName } from "../errors/catalog.js";

const NAMES = {
  952: "DB_IN_TRANSITION",
  1405: "DBM_ALREADY_ENABLED",
  1416: "DBM_NOT_CONFIGURED",
  1422: "DBM_NOT_CAUGHT_UP",
  1447: "DBM_PARTNERS_NOT_CONNECTED",
  1470: "DBM_PRINCIPAL_ONLY",
  1476: "DBM_TIMEOUT_TOO_LARGE",
  1477: "DBM_FAILOVER_NEEDS_FULL",
  1479: "DBM_CONNECTION_TIMEOUT",
} as const satisfies Record<number, ErrorName>;

export type MirroringErrorNumber = keyof typeof NAMES;

export interface MirroringErrorEntry {
  readonly number: number;
  readonly symbol: string;
  readonly severity: number;
  readonly text: string;
}

export const mirroringErrors: Readonly<Record<MirroringErrorNumber, MirroringErrorEntry>> =
  Object.fromEntries(Object.entries(NAMES).map(([number, name]) => [number, errorCatalog[name]])) as
    unknown as Record<MirroringErrorNumber, MirroringErrorEntry>;


/** The message text with the arguments filled in, in the order SQL Server fills them. */
export function mirroringErrorMessage(number: MirroringErrorNumber, args: readonly (string | number)[]): string {
  let next = 0;
  return mirroringErrors[number].text.replace(/%[sd]/g, () => String(args[next++] ?? ""));
}

/** The catalog name of a refusal, to raise it as a SqlError. */
export function mirroringErrorName(number: MirroringErrorNumber): (typeof NAMES)[MirroringErrorNumber] {
  return NAMES[number];
}
