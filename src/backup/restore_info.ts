// RESTORE HEADERONLY / FILELISTONLY / LABELONLY / VERIFYONLY: what is on a backup device,
// as result sets with SQL Server's column names, and a full read of a set that checks every
// frame (VERIFYONLY). Result rows run through the catalog connection like sys.* views.
import { SqlError } from "../errors/sql_error.js";
import type { CatalogTable } from "../storage/reader_worker.js";
import type { DoneChain, TsqlSession } from "../server/tsql_session.js";
import type { ResponseStream } from "../server/response.js";
import { DoneStatus } from "../tds/tokens.js";
import type { RestoreCommand } from "../tsql/backup_statements.js";
import { findSet, readSetFrames, scanMedia, type MediaScan, type ScannedSet } from "./media_file.js";
import { BACKUP_TYPE_DESCRIPTIONS } from "./restore_rules.js";

const HEADER_COLUMNS = `BackupName NVARCHAR(128), BackupDescription NVARCHAR(255), BackupType SMALLINT,
  ExpirationDate DATETIME, Compressed BIT, Position SMALLINT, DeviceType TINYINT, UserName NVARCHAR(128),
  ServerName NVARCHAR(128), DatabaseName NVARCHAR(128), DatabaseVersion INT, DatabaseCreationDate DATETIME,
  BackupSize NUMERIC(20,0), FirstLSN NUMERIC(25,0), LastLSN NUMERIC(25,0), CheckpointLSN NUMERIC(25,0),
  DatabaseBackupLSN NUMERIC(25,0), BackupStartDate DATETIME, BackupFinishDate DATETIME, SortOrder SMALLINT,
  CodePage SMALLINT, UnicodeLocaleId INT, UnicodeComparisonStyle INT, CompatibilityLevel TINYINT,
  SoftwareVendorId INT, SoftwareVersionMajor INT, SoftwareVersionMinor INT, SoftwareVersionBuild INT,
  MachineName NVARCHAR(128), Flags INT, BindingID UNIQUEIDENTIFIER, RecoveryForkID UNIQUEIDENTIFIER,
  Collation NVARCHAR(128), FamilyGUID UNIQUEIDENTIFIER, HasBulkLoggedData BIT, IsSnapshot BIT, IsReadOnly BIT,
  IsSingleUser BIT, HasBackupChecksums BIT, IsDamaged BIT, BeginsLogChain BIT, HasIncompleteMetaData BIT,
  IsForceOffline BIT, IsCopyOnly BIT, FirstRecoveryForkID UNIQUEIDENTIFIER, ForkPointLSN NUMERIC(25,0),
  RecoveryModel NVARCHAR(60), DifferentialBaseLSN NUMERIC(25,0), DifferentialBaseGUID UNIQUEIDENTIFIER,
  BackupTypeDescription NVARCHAR(60), BackupSetGUID UNIQUEIDENTIFIER, CompressedBackupSize BIGINT,
  Containment TINYINT, KeyAlgorithm NVARCHAR(32), EncryptorThumbprint VARBINARY(20), EncryptorType NVARCHAR(32)`;

const FILELIST_COLUMNS = `LogicalName NVARCHAR(128), PhysicalName NVARCHAR(260), Type CHAR(1),
  FileGroupName NVARCHAR(128), Size NUMERIC(20,0), MaxSize NUMERIC(20,0), FileId BIGINT,
  CreateLSN NUMERIC(25,0), DropLSN NUMERIC(25,0), UniqueId UNIQUEIDENTIFIER, ReadOnlyLSN NUMERIC(25,0),
  ReadWriteLSN NUMERIC(25,0), BackupSizeInBytes BIGINT, SourceBlockSize INT, FileGroupId INT,
  LogGroupGUID UNIQUEIDENTIFIER, DifferentialBaseLSN NUMERIC(25,0), DifferentialBaseGUID UNIQUEIDENTIFIER,
  IsReadOnly BIT, IsPresent BIT, TDEThumbprint VARBINARY(32), SnapshotUrl NVARCHAR(360)`;

const LABEL_COLUMNS = `MediaName NVARCHAR(128), MediaSetId UNIQUEIDENTIFIER, FamilyCount INT,
  FamilySequenceNumber INT, MediaFamilyId UNIQUEIDENTIFIER, MediaSequenceNumber INT,
  MediaLabelPresent TINYINT, MediaDescription NVARCHAR(255), SoftwareName NVARCHAR(128),
  SoftwareVendorId INT, MediaDate DATETIME, MirrorCount INT, IsCompressed BIT`;

function sqlDate(iso: string): string {
  return iso.replace("T", " ").replace("Z", "");
}

function flags(set: ScannedSet): number {
  const h = set.header;
  return (h.hasBackupChecksums ? 16 : 0) | (h.isForceOffline ? 64 | 256 : 0);
}

function headerRow(set: ScannedSet): unknown[] {
  const h = set.header;
  const t = set.trailer;
  const lastFork = h.forks[h.forks.length - 1]!;
  return [h.name, h.description, h.backupType, null, h.compressed ? 1 : 0, h.position, 2, h.userName,
    h.serverName, h.databaseName, 957, sqlDate(h.databaseCreationDate), t.backupSizeBytes, h.firstLsn,
    t.lastLsn, h.checkpointLsn, h.databaseBackupLsn, sqlDate(h.startDate), sqlDate(t.finishDate), 52, 0,
    1033, 196609, 160, 4608, 16, 0, 1000, h.serverName, flags(set), h.familyGuid, lastFork.guid,
    "SQL_Latin1_General_CP1_CI_AS", h.familyGuid, 0, 0, 0, 0, h.hasBackupChecksums ? 1 : 0, 0,
    h.beginsLogChain ? 1 : 0, 0, h.isForceOffline ? 1 : 0, h.isCopyOnly ? 1 : 0, h.forks[0]!.guid,
    h.forks.length > 1 ? lastFork.firstLsn : null, h.recoveryModel.replace("_", "-"),
    h.differentialBaseLsn, h.differentialBaseGuid, BACKUP_TYPE_DESCRIPTIONS[h.backupType],
    h.backupSetGuid, t.storedSizeBytes, 0, null, null, null];
}

function fileListRows(set: ScannedSet, dataDir: (name: string) => string): unknown[][] {
  const h = set.header;
  const dir = dataDir(h.databaseName);
  const dataBytes = h.dbSizePages * h.pageSize;
  const diffLsn = h.differentialBaseLsn;
  return [
    [h.databaseName, `${dir}/data.db`, "D", "PRIMARY", dataBytes, 35184372080640, 1, 0, 0, h.familyGuid,
      0, 0, h.backupType === 2 ? 0 : set.trailer.backupSizeBytes, h.pageSize, 1, null, diffLsn,
      h.differentialBaseGuid, 0, 1, null, null],
    [`${h.databaseName}_log`, `${dir}/log`, "L", null, 64 * 1024 * 1024, 2199023255552, 2, 0, 0,
      h.backupSetGuid, 0, 0, h.backupType === 2 ? set.trailer.backupSizeBytes : 0, h.pageSize, 0,
      null, null, null, 0, 1, null, null],
  ];
}

function labelRow(scan: MediaScan): unknown[] {
  const m = scan.media;
  return [m.mediaName, m.mediaSetGuid, 1, 1, m.mediaSetGuid, 1, 1, m.mediaDescription, m.softwareName,
    4608, sqlDate(m.createdAt), 1, scan.sets.some((set) => set.header.compressed) ? 1 : 0];
}

/** Sends the result set and its DONE; returns true (the statement's DONE is sent). */
async function sendTable(session: TsqlSession, table: CatalogTable, out: ResponseStream, done: DoneChain): Promise<boolean> {
  const result = await session.storageSession().executeCatalog(`SELECT * FROM "${table.name}"`, [],
    [table], { encode: true });
  done.release();
  out.tokens.encoded(result.encoded!);
  done.statementDone(DoneStatus.COUNT, 0xc1, result.rowCount ?? 0);
  return true;
}

/** Reads every frame of the set: CRCs, lengths, decompression and the set checksum. */
export async function verifySet(scan: MediaScan, set: ScannedSet): Promise<void> {
  for await (const _frame of readSetFrames(scan, set)) {
    // readSetFrames checks each frame before yielding it.
  }
}

export async function restoreInfo(session: TsqlSession, command: RestoreCommand, device: string,
  out: ResponseStream, done: DoneChain, info: (error: SqlError) => void): Promise<boolean> {
  const scan = await scanMedia(device);
  const dataDir = (name: string): string => session.instance.engine.databaseDir(name);
  switch (command.target) {
    case "HEADERONLY": {
      const sets = command.file === null ? scan.sets : [findSet(scan, command.file)];
      return sendTable(session, { name: "restore.headeronly", columns: HEADER_COLUMNS, rows: sets.map(headerRow) }, out, done);
    }
    case "FILELISTONLY":
      return sendTable(session, { name: "restore.filelistonly", columns: FILELIST_COLUMNS,
        rows: fileListRows(findSet(scan, command.file ?? 1), dataDir) }, out, done);
    case "LABELONLY":
      return sendTable(session, { name: "restore.labelonly", columns: LABEL_COLUMNS, rows: [labelRow(scan)] }, out, done);
    case "VERIFYONLY": {
      const position = command.file ?? 1;
      const set = findSet(scan, position);
      if (command.checksum === true && !set.header.hasBackupChecksums) throw new SqlError("RESTORE_CHECKSUM_ABSENT");
      await verifySet(scan, set);
      info(new SqlError("RESTORE_VERIFY_VALID", [position]));
      return false;
    }
    default:
      throw new Error(`not an information statement: ${command.target}`);
  }
}
