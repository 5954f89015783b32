// Backup and restore history, what SQL Server keeps in msdb: backupset, backupmediaset,
// backupmediafamily and restorehistory. Kept as an append-only JSON-lines file in the data
// directory (one fsynced line per event; a torn last line from a crash is ignored) and served
// as msdb.dbo.* catalog views.
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackupSetHeader, BackupSetTrailer, MediaHeader } from "./media_format.js";

export interface BackupEvent {
  readonly kind: "backup";
  readonly header: BackupSetHeader;
  readonly trailer: BackupSetTrailer;
  readonly devicePath: string;
  readonly media: MediaHeader | null;
}

export interface RestoreEvent {
  readonly kind: "restore";
  readonly restoreDate: string;
  readonly destinationDatabaseName: string;
  readonly userName: string;
  readonly backupSetGuid: string;
  readonly restoreType: "D" | "I" | "L";
  readonly replace: boolean;
  readonly recovery: boolean;
  readonly stopAt: string | null;
}

type HistoryEvent = BackupEvent | RestoreEvent;

const FILE_NAME = "backup-history.jsonl";
const BACKUP_TYPE_LETTER: Record<number, string> = { 1: "D", 2: "L", 5: "I" };

export class BackupHistory {
  private readonly events: HistoryEvent[] = [];

  private constructor(private readonly file: string) {}

  static open(dataDir: string): BackupHistory {
    const history = new BackupHistory(path.join(dataDir, FILE_NAME));
    if (fs.existsSync(history.file)) {
      for (const line of fs.readFileSync(history.file, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        try {
          history.events.push(JSON.parse(line) as HistoryEvent);
        } catch {
          break; // a line torn by a crash ends the history
        }
      }
    }
    return history;
  }

  record(event: HistoryEvent): void {
    const fd = fs.openSync(this.file, "a");
    try {
      fs.writeSync(fd, `${JSON.stringify(event)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.events.push(event);
  }

  private backups(): BackupEvent[] {
    return this.events.filter((event): event is BackupEvent => event.kind === "backup");
  }

  /** media_set_id per media set GUID, in order of first use. */
  private mediaSetIds(): Map<string, number> {
    const ids = new Map<string, number>();
    for (const event of this.backups()) {
      const guid = event.media?.mediaSetGuid ?? `nul:${event.header.backupSetGuid}`;
      if (!ids.has(guid)) ids.set(guid, ids.size + 1);
    }
    return ids;
  }

  backupsetRows(): unknown[][] {
    const media = this.mediaSetIds();
    return this.backups().map((event, index) => {
      const h = event.header;
      const t = event.trailer;
      return [index + 1, h.backupSetGuid, media.get(event.media?.mediaSetGuid ?? `nul:${h.backupSetGuid}`),
        h.position, h.name, h.description, h.userName, 16, 0, h.databaseName, h.serverName, h.serverName,
        sqlDate(h.databaseCreationDate), sqlDate(h.startDate), sqlDate(t.finishDate),
        BACKUP_TYPE_LETTER[h.backupType], h.firstLsn, t.lastLsn, h.checkpointLsn, h.databaseBackupLsn,
        h.differentialBaseLsn, h.differentialBaseGuid, t.backupSizeBytes, t.storedSizeBytes,
        h.isCopyOnly ? 1 : 0, h.hasBackupChecksums ? 1 : 0, h.recoveryModel.replace("_", "-"),
        h.familyGuid, h.beginsLogChain ? 1 : 0, h.isForceOffline ? 1 : 0, h.compressed ? 1 : 0,
        h.forks[h.forks.length - 1]?.guid ?? null];
    });
  }

  mediasetRows(): unknown[][] {
    const rows: unknown[][] = [];
    const seen = new Set<string>();
    for (const [guid, id] of this.mediaSetIds()) {
      if (seen.has(guid)) continue;
      seen.add(guid);
      const media = this.backups().find((event) => event.media?.mediaSetGuid === guid)?.media ?? null;
      rows.push([id, media?.mediaSetGuid ?? null, media?.mediaName ?? null, media?.mediaDescription ?? null,
        "mirrorlite", 1, 1]);
    }
    return rows;
  }

  mediafamilyRows(): unknown[][] {
    const media = this.mediaSetIds();
    const rows: unknown[][] = [];
    const seen = new Set<number>();
    for (const event of this.backups()) {
      const id = media.get(event.media?.mediaSetGuid ?? `nul:${event.header.backupSetGuid}`)!;
      if (seen.has(id)) continue;
      seen.add(id);
      rows.push([id, 1, event.media?.mediaSetGuid ?? null, event.devicePath, 2]);
    }
    return rows;
  }

  restorehistoryRows(): unknown[][] {
    const setIds = new Map(this.backups().map((event, index) => [event.header.backupSetGuid, index + 1]));
    return this.events.filter((event): event is RestoreEvent => event.kind === "restore")
      .map((event, index) => [index + 1, sqlDate(event.restoreDate), event.destinationDatabaseName,
        event.userName, setIds.get(event.backupSetGuid) ?? null, event.restoreType,
        event.replace ? 1 : 0, event.recovery ? 1 : 0, event.stopAt]);
  }
}

/** ISO text → SQL Server's datetime text (what the catalog tables store). */
function sqlDate(iso: string): string {
  return iso.replace("T", " ").replace("Z", "");
}

export const HISTORY_VIEW_COLUMNS: Record<string, string> = {
  "msdb.dbo.backupset": `backup_set_id INT, backup_set_uuid UNIQUEIDENTIFIER, media_set_id INT,
    position INT, name NVARCHAR(128), description NVARCHAR(255), user_name NVARCHAR(128),
    software_major_version TINYINT, software_minor_version TINYINT, database_name NVARCHAR(128),
    server_name NVARCHAR(128), machine_name NVARCHAR(128), database_creation_date DATETIME,
    backup_start_date DATETIME, backup_finish_date DATETIME, type CHAR(1), first_lsn NUMERIC(25,0),
    last_lsn NUMERIC(25,0), checkpoint_lsn NUMERIC(25,0), database_backup_lsn NUMERIC(25,0),
    differential_base_lsn NUMERIC(25,0), differential_base_guid UNIQUEIDENTIFIER,
    backup_size NUMERIC(20,0), compressed_backup_size NUMERIC(20,0), is_copy_only BIT,
    has_backup_checksums BIT, recovery_model NVARCHAR(60), family_guid UNIQUEIDENTIFIER,
    begins_log_chain BIT, is_force_offline BIT, is_compressed BIT, last_recovery_fork_guid UNIQUEIDENTIFIER`,
  "msdb.dbo.backupmediaset": `media_set_id INT, media_uuid UNIQUEIDENTIFIER, name NVARCHAR(128),
    description NVARCHAR(255), software_name NVARCHAR(128), mirror_count TINYINT, media_family_count TINYINT`,
  "msdb.dbo.backupmediafamily": `media_set_id INT, family_sequence_number TINYINT,
    media_family_id UNIQUEIDENTIFIER, physical_device_name NVARCHAR(260), device_type TINYINT`,
  "msdb.dbo.restorehistory": `restore_history_id INT, restore_date DATETIME,
    destination_database_name NVARCHAR(128), user_name NVARCHAR(128), backup_set_id INT,
    restore_type CHAR(1), replace BIT, recovery BIT, stop_at DATETIME`,
};

export function historyRows(history: BackupHistory, view: string): unknown[][] {
  switch (view) {
    case "msdb.dbo.backupset": return history.backupsetRows();
    case "msdb.dbo.backupmediaset": return history.mediasetRows();
    case "msdb.dbo.backupmediafamily": return history.mediafamilyRows();
    case "msdb.dbo.restorehistory": return history.restorehistoryRows();
    default: return [];
  }
}
