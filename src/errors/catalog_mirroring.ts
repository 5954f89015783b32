// Database mirroring sessions (src/mirroring), merged into the one catalog by catalog.ts.
// Numbers, severities and texts are SQL Server's (spec/mirroring.md §2.6, §2.10, §5).
import type { CatalogEntry } from "./catalog.js";

export const mirroringErrorCatalog = {
  DB_IN_TRANSITION: {
    number: 952, symbol: "DB_IN_TRANSITION", severity: 16, state: 1,
    text: "Database '%s' is in transition. Try the statement later.",
  },
  DBM_ALREADY_ENABLED: {
    number: 1405, symbol: "DBM_ALREADY_ENABLED", severity: 16, state: 1,
    text: "The database \"%s\" is already enabled for database mirroring.",
  },
  DBM_NOT_CONFIGURED: {
    number: 1416, symbol: "DBM_NOT_CONFIGURED", severity: 16, state: 1,
    text: "Database \"%s\" is not configured for database mirroring.",
  },
  DBM_NOT_CAUGHT_UP: {
    number: 1422, symbol: "DBM_NOT_CAUGHT_UP", severity: 16, state: 1,
    text: "The mirror server instance is not caught up to the recent changes to database \"%s\". Unable to fail over.",
  },
  DBM_PARTNERS_NOT_CONNECTED: {
    number: 1447, symbol: "DBM_PARTNERS_NOT_CONNECTED", severity: 16, state: 1,
    text: "ALTER DATABASE \"%s\" command cannot be executed until both partner server instances are up, running, and connected. Start the partner and reissue the command.",
  },
  DBM_PRINCIPAL_ONLY: {
    number: 1470, symbol: "DBM_PRINCIPAL_ONLY", severity: 16, state: 1,
    text: "The alter database for this partner config values may only be initiated on the current principal server for database \"%s\".",
  },
  DBM_TIMEOUT_TOO_LARGE: {
    number: 1476, symbol: "DBM_TIMEOUT_TOO_LARGE", severity: 16, state: 1,
    text: "Database mirroring timeout value %d exceeds the maximum value 32767.",
  },
  DBM_FAILOVER_NEEDS_FULL: {
    number: 1477, symbol: "DBM_FAILOVER_NEEDS_FULL", severity: 16, state: 1,
    text: "The database mirroring safety level must be FULL to manually failover database \"%s\". Set safety level to FULL and retry.",
  },
  DBM_CONNECTION_TIMEOUT: {
    number: 1479, symbol: "DBM_CONNECTION_TIMEOUT", severity: 16, state: 1,
    text: "The mirroring connection to \"%s\" has timed out for database \"%s\" after %d seconds without a response. Check the service and network connections.",
  },
  DBM_INVALID_ADDRESS: {
    number: 1449, symbol: "DBM_INVALID_ADDRESS", severity: 16, state: 1,
    text: "ALTER DATABASE command failed due to an invalid server connection string.",
  },
} as const satisfies Record<string, CatalogEntry>;
