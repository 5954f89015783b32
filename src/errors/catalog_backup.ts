// BACKUP and RESTORE errors and messages (src/backup), merged into the one catalog by
// catalog.ts. Numbers, severities and texts follow SQL Server's (spec/mirroring.md §3.11–3.13, §5).
import type { CatalogEntry } from "./catalog.js";

export const backupErrorCatalog = {
  BACKUP_DATABASE_RESTORING: {
    number: 927, symbol: "DB_IN_RESTORE", severity: 14, state: 2,
    text: "Database '%s' cannot be opened. It is in the middle of a restore.",
  },
  BACKUP_TERMINATING: {
    number: 3013, symbol: "BACKUP_TERMINATING", severity: 16, state: 1,
    text: "%s is terminating abnormally.",
  },
  BACKUP_SUCCEEDED: {
    number: 3014, symbol: "BACKUP_SUCCEEDED", severity: 0, state: 1,
    text: "%s successfully processed %d pages in %s seconds (%s MB/sec).",
  },
  BACKUP_IN_TRANSACTION: {
    number: 3021, symbol: "BACKUP_IN_XACT", severity: 16, state: 0,
    text: "Cannot perform a backup or restore operation within a transaction.",
  },
  BACKUP_OPTION_CONFLICT: {
    number: 3031, symbol: "BACKUP_OPTION_CONFLICT", severity: 16, state: 1,
    text: "Option '%s' conflicts with option(s) '%s'. Remove the conflicting option and reissue the statement.",
  },
  RESTORE_WRONG_BACKUP_TYPE: {
    number: 3135, symbol: "RESTORE_WRONG_TYPE", severity: 16, state: 2,
    text: "The backup set in file '%s' was created by %s and cannot be used for this restore operation.",
  },
  BACKUP_OPTION_NOT_SUPPORTED: {
    number: 3032, symbol: "BACKUP_BAD_OPTION", severity: 16, state: 2,
    text: "One or more of the options (%s) are not supported for this statement. Review the documentation for supported options.",
  },
  BACKUP_NO_DIFFERENTIAL_BASE: {
    number: 3035, symbol: "BACKUP_NO_DIFF_BASE", severity: 16, state: 1,
    text: "Cannot perform a differential backup for database \"%s\", because a current database backup does not exist. Perform a full database backup by reissuing BACKUP DATABASE, omitting the WITH DIFFERENTIAL option.",
  },
  RESTORE_EXCLUSIVE_ACCESS: {
    number: 3101, symbol: "RESTORE_EXCLUSIVE", severity: 16, state: 1,
    text: "Exclusive access could not be obtained because the database is in use.",
  },
  RESTORE_DATABASE_IN_USE_BY_SESSION: {
    number: 3102, symbol: "RESTORE_OWN_DB", severity: 16, state: 1,
    text: "RESTORE cannot process database '%s' because it is in use by this session. It is recommended that the master database be used when performing this operation.",
  },
  RESTORE_MASTER: {
    number: 3108, symbol: "RESTORE_MASTER", severity: 16, state: 1,
    text: "To restore the master database, the server must be running in single-user mode. mirrorlite cannot restore master over a running instance; restore it as another database name.",
  },
  RESTORE_NOTHING_TO_ROLL_FORWARD: {
    number: 3117, symbol: "RESTORE_NO_ROLLFORWARD", severity: 16, state: 4,
    text: "The log or differential backup cannot be restored because no files are ready to rollforward.",
  },
  RESTORE_NEEDS_FULL_BACKUP: {
    number: 3118, symbol: "RESTORE_NEEDS_FULL", severity: 16, state: 1,
    text: "The database \"%s\" does not exist. RESTORE can only create a database when restoring either a full backup or a file backup of the primary file.",
  },
  RESTORE_DIFFERENTIAL_BASE_MISMATCH: {
    number: 3136, symbol: "RESTORE_DIFF_MISMATCH", severity: 16, state: 1,
    text: "This differential backup cannot be restored because the database has not been restored to the correct earlier state.",
  },
  RESTORE_OTHER_DATABASE_NAME: {
    number: 3141, symbol: "RESTORE_OTHER_NAME", severity: 16, state: 1,
    text: "The database to be restored was named '%s'. Reissue the statement using the WITH REPLACE option to overwrite the '%s' database.",
  },
  RESTORE_STOPAT_SIMPLE: {
    number: 3145, symbol: "RESTORE_STOPAT_SIMPLE", severity: 16, state: 1,
    text: "The STOPAT option is not supported for databases that use the SIMPLE recovery model.",
  },
  RESTORE_ALREADY_RECOVERED: {
    number: 3153, symbol: "RESTORE_ALREADY_RECOVERED", severity: 16, state: 1,
    text: "The database is already fully recovered.",
  },
  RESTORE_DIFFERENT_DATABASE: {
    number: 3154, symbol: "RESTORE_DIFFERENT_DB", severity: 16, state: 4,
    text: "The backup set holds a backup of a database other than the existing '%s' database.",
  },
  RESTORE_MOVE_PATH: {
    number: 3156, symbol: "RESTORE_MOVE_PATH", severity: 16, state: 3,
    text: "File '%s' cannot be restored to '%s'. Use WITH MOVE to identify a valid location for the file.",
  },
  RESTORE_TAIL_NOT_BACKED_UP: {
    number: 3159, symbol: "RESTORE_TAIL_LOG", severity: 16, state: 1,
    text: "The tail of the log for the database \"%s\" has not been backed up. Use BACKUP LOG WITH NORECOVERY to backup the log if it contains work you do not want to lose. Use the WITH REPLACE or WITH STOPAT clause of the RESTORE statement to just overwrite the contents of the log.",
  },
  RESTORE_VERSION: {
    number: 3169, symbol: "RESTORE_VERSION", severity: 16, state: 1,
    text: "The database was backed up on a server running version %s. That version is incompatible with this server, which is running version %s. Either restore the database on a server that supports the backup, or use a backup that is compatible with this server.",
  },
  RESTORE_CHECKSUM_ABSENT: {
    number: 3187, symbol: "RESTORE_NO_CHECKSUM", severity: 16, state: 1,
    text: "RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain checksum information.",
  },
  BACKUP_DAMAGED: {
    number: 3189, symbol: "BACKUP_DAMAGED", severity: 16, state: 1,
    text: "Damage to the backup set was detected: %s.",
  },
  BACKUP_DEVICE_OPEN_FAILED: {
    number: 3201, symbol: "BACKUP_DEVICE_OPEN", severity: 16, state: 2,
    text: "Cannot open backup device '%s'. Operating system error %s.",
  },
  BACKUP_DEVICE_READ_FAILED: {
    number: 3203, symbol: "BACKUP_DEVICE_READ", severity: 16, state: 1,
    text: "Read on \"%s\" failed: %s",
  },
  BACKUP_DEVICE_WRITE_FAILED: {
    number: 3202, symbol: "BACKUP_DEVICE_WRITE", severity: 16, state: 1,
    text: "Write on \"%s\" failed: %s",
  },
  BACKUP_PERCENT_PROCESSED: {
    number: 3211, symbol: "BACKUP_PERCENT", severity: 0, state: 1,
    text: "%d percent processed.",
  },
  RESTORE_UNKNOWN_LOGICAL_FILE: {
    number: 3234, symbol: "RESTORE_NO_LOGICAL_FILE", severity: 16, state: 2,
    text: "Logical file '%s' is not part of database '%s'. Use RESTORE FILELISTONLY to list the logical file names.",
  },
  BACKUP_MEDIA_MALFORMED: {
    number: 3241, symbol: "BACKUP_MEDIA_MALFORMED", severity: 16, state: 0,
    text: "The media family on device '%s' is incorrectly formed. SQL Server cannot process this media family.",
  },
  BACKUP_MEDIA_NOT_APPENDABLE: {
    number: 3246, symbol: "BACKUP_MEDIA_NOT_APPENDABLE", severity: 16, state: 1,
    text: "The media family on device '%s' is incorrectly formed or its last backup set is incomplete. Use WITH FORMAT to start a new media set.",
  },
  BACKUP_MEDIANAME_MISMATCH: {
    number: 4037, symbol: "BACKUP_MEDIANAME", severity: 16, state: 1,
    text: "The user-specified MEDIANAME \"%s\" does not match the MEDIANAME \"%s\" of the device \"%s\".",
  },
  BACKUP_NO_SET_AT_POSITION: {
    number: 4038, symbol: "BACKUP_NO_FILE", severity: 16, state: 1,
    text: "Cannot find file ID %d on device '%s'.",
  },
  RESTORE_VERIFY_VALID: {
    number: 3262, symbol: "RESTORE_VERIFY_VALID", severity: 0, state: 1,
    text: "The backup set on file %d is valid.",
  },
  BACKUP_LOG_SIMPLE: {
    number: 4208, symbol: "BACKUP_LOG_SIMPLE", severity: 16, state: 1,
    text: "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE or change the recovery model using ALTER DATABASE.",
  },
  BACKUP_LOG_MASTER: {
    number: 4212, symbol: "BACKUP_LOG_MASTER", severity: 16, state: 1,
    text: "Cannot back up the log of the master database. Use BACKUP DATABASE instead.",
  },
  BACKUP_LOG_NO_FULL: {
    number: 4214, symbol: "BACKUP_LOG_NO_FULL", severity: 16, state: 1,
    text: "BACKUP LOG cannot be performed because there is no current database backup.",
  },
  RESTORE_LOG_TOO_RECENT: {
    number: 4305, symbol: "RESTORE_LOG_TOO_RECENT", severity: 16, state: 1,
    text: "The log in this backup set begins at LSN %s, which is too recent to apply to the database. An earlier log backup that includes LSN %s can be restored.",
  },
  RESTORE_STOPAT_NOT_REACHED: {
    number: 4322, symbol: "RESTORE_STOPAT_LATER", severity: 0, state: 1,
    text: "This backup set contains records that were logged before the designated point in time. The database is being left in the restoring state so that more roll forward can be performed.",
  },
  RESTORE_LOG_TOO_EARLY: {
    number: 4326, symbol: "RESTORE_LOG_TOO_EARLY", severity: 16, state: 1,
    text: "The log in this backup set terminates at LSN %s, which is too early to apply to the database. A more recent log backup that includes LSN %s can be restored.",
  },
  RESTORE_FORK_MISMATCH: {
    number: 4330, symbol: "RESTORE_FORK_MISMATCH", severity: 16, state: 1,
    text: "This backup set cannot be applied because it is on a recovery path that is inconsistent with the database. The recovery path is the sequence of data and log backups that have brought the database to a particular recovery point. Find a compatible backup to restore, or restore the rest of the database to match a recovery point within this backup set, which will restore the database to a different point in time.",
  },
  RESTORE_STOPAT_TOO_EARLY: {
    number: 4335, symbol: "RESTORE_STOPAT_EARLY", severity: 16, state: 2,
    text: "The specified STOPAT time is too early. All or part of the database is already rolled forward beyond that point.",
  },
  RESTORE_STOPAT_INVALID: {
    number: 4336, symbol: "RESTORE_STOPAT_INVALID", severity: 16, state: 1,
    text: "The STOPAT value '%s' is not a valid date and time.",
  },
  RESTORE_COMPLETE: {
    number: 4356, symbol: "RESTORE_COMPLETE", severity: 0, state: 1,
    text: "Restore is complete on database '%s'.  The database is now available.",
  },
  BACKUP_PROCESSED_PAGES: {
    number: 4035, symbol: "BACKUP_PROCESSED", severity: 0, state: 1,
    text: "Processed %d pages for database '%s', file '%s' on file %d.",
  },
  BACKUP_DEVICE_MULTIPLE: {
    number: 3010, symbol: "BACKUP_STRIPES", severity: 16, state: 1,
    text: "Invalid backup device list: mirrorlite writes each backup set to one DISK device (%d were named); striped and mirrored media sets are not supported.",
  },
  BACKUP_RESTORING_DATABASE: {
    number: 3098, symbol: "BACKUP_RESTORING", severity: 16, state: 1,
    text: "The backup cannot be performed because the database '%s' is in the middle of a restore. Restore the remaining backups WITH NORECOVERY, or recover it with RESTORE DATABASE %s WITH RECOVERY.",
  },
} as const satisfies Record<string, CatalogEntry>;
