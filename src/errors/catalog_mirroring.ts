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
  DBM_ACTING_AS_MIRROR: {
    number: 954, symbol: "DBM_ACTING_AS_MIRROR", severity: 14, state: 1,
    text: "The database \"%s\" cannot be opened. It is acting as a mirror database.",
  },
  DBM_NOT_ROLLED_FORWARD: {
    number: 1412, symbol: "DBM_NOT_ROLLED_FORWARD", severity: 16, state: 1,
    text: "The remote copy of database \"%s\" has not been rolled forward to a point in time that is encompassed in the local copy of the database log.",
  },
  DBM_SAME_INSTANCE: {
    number: 1452, symbol: "DBM_SAME_INSTANCE", severity: 16, state: 1,
    text: "The partner server instance name must be distinct from the server instance that manages the database. The ALTER DATABASE SET PARTNER command failed.",
  },
  DBM_NOT_RECOVERING: {
    number: 1464, symbol: "DBM_NOT_RECOVERING", severity: 16, state: 1,
    text: "Database \"%s\" is not in a recovering state which is required for a mirror database. The remote database must be restored using WITH NORECOVERY.",
  },
  DBM_NOT_FULL_RECOVERY: {
    number: 1465, symbol: "DBM_NOT_FULL_RECOVERY", severity: 16, state: 1,
    text: "Database \"%s\" database is not in full recovery mode on each of the server instances. The full recovery model is required for a database to participate in database mirroring or in an availability group.",
  },
  DBM_INVOLVED: {
    number: 1468, symbol: "DBM_INVOLVED", severity: 16, state: 1,
    text: "The operation cannot be performed on database \"%s\" because it is involved in a database mirroring session or an availability group. Some operations are not allowed on a database that is participating in a database mirroring session or in an availability group.",
  },
  DBM_INSUFFICIENT_LOG: {
    number: 1478, symbol: "DBM_INSUFFICIENT_LOG", severity: 16, state: 1,
    text: "The mirror database, \"%s\", has insufficient transaction log data to preserve the log backup chain of the principal database. This may happen if a log backup from the principal database has not been taken or has not been restored on the mirror database.",
  },
  DBM_RESTORE_MIRRORED: {
    number: 3104, symbol: "DBM_RESTORE_MIRRORED", severity: 16, state: 1,
    text: "RESTORE cannot operate on database '%s' because it is configured for database mirroring. Use ALTER DATABASE to remove mirroring if you intend to restore the database.",
  },
  DBM_DROP_MIRRORED: {
    number: 3743, symbol: "DBM_DROP_MIRRORED", severity: 16, state: 1,
    text: "The database '%s' is enabled for database mirroring. Database mirroring must be removed before you drop the database.",
  },
} as const satisfies Record<string, CatalogEntry>;
