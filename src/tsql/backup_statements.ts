// BACKUP DATABASE/LOG and RESTORE DATABASE/LOG/HEADERONLY/FILELISTONLY/LABELONLY/VERIFYONLY
// (spec/mirroring.md §3.11–3.13): turns an admin statement the batch parser delimited into a
// typed command for the backup subsystem. Pure: it reads tokens and throws SqlErrors.
//
// Errors, in the order SQL Server reports them (compile time first, then option checks):
// - malformed syntax, unknown option words, bad STATS/FILE numbers: 102/156 near the token
//   (a statement cut short: near its last token);
// - what mirrorlite does not run (variables, TAPE/URL, logical devices, MIRROR TO, file and
//   filegroup backups, DATABASE_SNAPSHOT, PASSWORD, ENCRYPTION, STANDBY …): 40517;
// - options on a statement that does not take them, contradictory or repeated options: 3032.

import type { Token } from "./lexer.js";
import { Cursor, isName, tokenError } from "./cursor.js";
import { syntaxError, unsupported } from "./errors.js";
import type { SqlError } from "../errors/sql_error.js";
import type { AdminStatement } from "./statements.js";

/** DISK = 'path' (string or N'' string); 'NUL' is a path like any other here. */
export interface BackupDevice { readonly path: string }

export interface MoveClause { readonly logicalName: string; readonly physicalName: string }

export interface BackupCommand {
  kind: "backup";
  target: "DATABASE" | "LOG";
  database: string;
  devices: BackupDevice[];
  differential: boolean;
  copyOnly: boolean;
  init: boolean;
  format: boolean;
  skip: boolean;
  name: string | null;
  description: string | null;
  mediaName: string | null;
  mediaDescription: string | null;
  checksum: boolean;
  /** COMPRESSION true, NO_COMPRESSION false, null: the server default (off). */
  compression: boolean | null;
  /** STATS alone is 10; STATS = n (1..100); null without STATS. */
  stats: number | null;
  /** BACKUP LOG … WITH NORECOVERY: a tail-log backup that leaves the database RESTORING. */
  noRecovery: boolean;
  noTruncate: boolean;
  continueAfterError: boolean;
  line: number;
}

export interface RestoreCommand {
  kind: "restore";
  target: "DATABASE" | "LOG" | "HEADERONLY" | "FILELISTONLY" | "LABELONLY" | "VERIFYONLY";
  /** null for HEADERONLY, FILELISTONLY, LABELONLY and VERIFYONLY. */
  database: string | null;
  /** Empty only for a recovery-only RESTORE DATABASE/LOG db [WITH …] (no FROM). */
  devices: BackupDevice[];
  /** true unless NORECOVERY (RECOVERY is the default). */
  recovery: boolean;
  replace: boolean;
  file: number | null;
  moves: MoveClause[];
  stats: number | null;
  /** STOPAT = 'datetime text' as written, unquoted; the executor interprets it. */
  stopAt: string | null;
  /** CHECKSUM true, NO_CHECKSUM false, neither null. */
  checksum: boolean | null;
  continueAfterError: boolean;
  loadHistory: boolean;
  mediaName: string | null;
  line: number;
}

type Form =
  | "BACKUP DATABASE" | "BACKUP LOG" | "RESTORE DATABASE" | "RESTORE LOG" | "RESTORE HEADERONLY"
  | "RESTORE FILELISTONLY" | "RESTORE LABELONLY" | "RESTORE VERIFYONLY";

/** How an option's value is written: flag alone, `= 'text'`, `= name`, `= n`, … */
type ValueKind = "flag" | "text" | "name" | "integer" | "file" | "stats" | "move" | "compression";

interface OptionSpec { value: ValueKind; forms: readonly Form[] }

const backups: readonly Form[] = ["BACKUP DATABASE", "BACKUP LOG"];
const restores: readonly Form[] = ["RESTORE DATABASE", "RESTORE LOG"];
const headers: readonly Form[] = ["RESTORE HEADERONLY", "RESTORE FILELISTONLY"];
const verify: readonly Form[] = ["RESTORE VERIFYONLY"];
const allForms: readonly Form[] = [...backups, ...restores, ...headers, "RESTORE LABELONLY", ...verify];

function spec(value: ValueKind, ...groups: (readonly Form[])[]): OptionSpec {
  return { value, forms: groups.flat() };
}

// Which statement takes which option, after the "Supported by" notes of the BACKUP and
// RESTORE argument pages. The tuning and tape options are accepted and ignored: scripts
// written for SQL Server carry them, and they change nothing for a file on disk.
const options: ReadonlyMap<string, OptionSpec> = new Map([
  ["DIFFERENTIAL", spec("flag", ["BACKUP DATABASE"])],
  ["COPY_ONLY", spec("flag", backups)],
  ["COMPRESSION", spec("compression", backups)],
  ["NO_COMPRESSION", spec("flag", backups)],
  ["NAME", spec("name", backups)],
  ["DESCRIPTION", spec("text", backups)],
  ["MEDIADESCRIPTION", spec("text", backups)],
  ["EXPIREDATE", spec("text", backups)],
  ["RETAINDAYS", spec("integer", backups)],
  ...["INIT", "NOINIT", "SKIP", "NOSKIP", "FORMAT", "NOFORMAT"].map(flag(backups)),
  ["NO_TRUNCATE", spec("flag", ["BACKUP LOG"])],
  ["NORECOVERY", spec("flag", ["BACKUP LOG"], restores)],
  ["RECOVERY", spec("flag", restores)],
  ["MEDIANAME", spec("name", allForms)],
  ["BLOCKSIZE", spec("integer", allForms)],
  ["BUFFERCOUNT", spec("integer", backups, restores, verify)],
  ["MAXTRANSFERSIZE", spec("integer", backups, restores, verify)],
  ...["CHECKSUM", "NO_CHECKSUM", "STOP_ON_ERROR", "CONTINUE_AFTER_ERROR"].map(flag(allForms)),
  ...["REWIND", "NOREWIND", "UNLOAD", "NOUNLOAD"].map(flag(allForms)),
  ["RESTART", spec("flag", backups, restores)],
  ["STATS", spec("stats", backups, restores, verify)],
  ["FILE", spec("file", restores, headers, verify)],
  ["MOVE", spec("move", restores, verify)],
  ...["REPLACE", "RESTRICTED_USER", "KEEP_REPLICATION"].map(flag(restores)),
  ...["KEEP_CDC", "ENABLE_BROKER", "NEW_BROKER", "ERROR_BROKER_CONVERSATIONS"].map(flag(["RESTORE DATABASE"])),
  ["STOPAT", spec("text", restores)],
  ["LOADHISTORY", spec("flag", verify)],
]);

function flag(forms: readonly Form[]): (name: string) => [string, OptionSpec] {
  return (name) => [name, spec("flag", forms)];
}

/** Real SQL Server options mirrorlite does not implement: 40517 naming the option. */
const unsupportedOptions: ReadonlySet<string> = new Set([
  "PASSWORD", "MEDIAPASSWORD", "ENCRYPTION", "CREDENTIAL", "FILE_SNAPSHOT", "STANDBY",
  "STOPATMARK", "STOPBEFOREMARK", "FILESTREAM", "PARTIAL",
]);

/** Either-or options: giving both is refused, as SQL Server refuses them (see conflict()). */
const opposites: ReadonlyArray<readonly [string, string]> = [
  ["RECOVERY", "NORECOVERY"], ["INIT", "NOINIT"], ["SKIP", "NOSKIP"], ["FORMAT", "NOFORMAT"],
  ["CHECKSUM", "NO_CHECKSUM"], ["COMPRESSION", "NO_COMPRESSION"],
  ["STOP_ON_ERROR", "CONTINUE_AFTER_ERROR"], ["REWIND", "NOREWIND"], ["UNLOAD", "NOUNLOAD"],
];

/** One WITH option as written: its upper-cased name, its token and its value if any. */
interface Option {
  name: string;
  token: Token;
  value: string | null;
  move: MoveClause | null;
}

/**
 * Parses a BACKUP DATABASE/LOG or RESTORE DATABASE/LOG/HEADERONLY/FILELISTONLY/LABELONLY/
 * VERIFYONLY statement. Several devices are all returned (the executor refuses more than one
 * with 3010). Throws 102/156, 40517 or 3032 as described at the top of this file.
 */
export function parseBackupStatement(statement: AdminStatement): BackupCommand | RestoreCommand {
  const cursor = new Cursor(statement.tokens);
  const form = parseForm(cursor);
  const target = form.slice(form.indexOf(" ") + 1);
  const database = takesDatabase(form) ? parseDatabase(cursor, form) : null;
  const devices = parseSource(cursor, form);
  const written = parseOptions(cursor);
  if (!cursor.atEnd()) throw cursor.unexpected();
  const line = statement.line;
  checkOptions(form, written, line);
  if (form === "BACKUP DATABASE" || form === "BACKUP LOG") {
    return backupCommand(target as BackupCommand["target"], database!, devices, written, line);
  }
  return restoreCommand(target as RestoreCommand["target"], database, devices, written, line);
}

/** BACKUP {DATABASE | LOG} or RESTORE {DATABASE | LOG | HEADERONLY | …}. */
function parseForm(cursor: Cursor): Form {
  const verb = cursor.expectWord("BACKUP", "RESTORE");
  if (verb === "BACKUP") return `BACKUP ${cursor.expectWord("DATABASE", "LOG")}` as Form;
  // A tape-only statement: there are no tapes to rewind.
  if (cursor.isWord("REWINDONLY")) throw unsupported("RESTORE REWINDONLY", cursor.peek()!.line);
  const object = cursor.expectWord("DATABASE", "LOG", "HEADERONLY", "FILELISTONLY", "LABELONLY", "VERIFYONLY");
  return `RESTORE ${object}` as Form;
}

function takesDatabase(form: Form): boolean {
  return form.endsWith(" DATABASE") || form.endsWith(" LOG");
}

/** The database name, then a refusal of file, filegroup and page lists (partial backups). */
function parseDatabase(cursor: Cursor, form: Form): string {
  const token = cursor.peek();
  if (token?.kind === "variable") throw unsupported(token.text, token.line);
  const name = cursor.expectName();
  const list = cursor.peek();
  if (form !== "BACKUP LOG" && list?.kind === "word") {
    const word = list.text.toUpperCase();
    if (["FILE", "FILEGROUP", "PAGE", "READ_WRITE_FILEGROUPS"].includes(word)) throw unsupported(word, list.line);
  }
  return name;
}

/** TO devices for BACKUP; FROM devices for RESTORE, optional for DATABASE and LOG. */
function parseSource(cursor: Cursor, form: Form): BackupDevice[] {
  if (form.startsWith("BACKUP")) {
    cursor.expectWord("TO");
    const devices = parseDevices(cursor);
    if (cursor.isWord("MIRROR")) throw unsupported("MIRROR TO", cursor.peek()!.line);
    return devices;
  }
  if (takesDatabase(form) && !cursor.isWord("FROM")) return [];
  cursor.expectWord("FROM");
  return parseDevices(cursor);
}

function parseDevices(cursor: Cursor): BackupDevice[] {
  const devices = [parseDevice(cursor)];
  while (cursor.acceptOp(",")) devices.push(parseDevice(cursor));
  return devices;
}

/**
 * DISK = 'path'. TAPE, URL and DATABASE_SNAPSHOT are refused with 40517, and so are logical
 * device names: mirrorlite has no sp_addumpdevice, so no name could ever resolve.
 */
function parseDevice(cursor: Cursor): BackupDevice {
  const token = cursor.next();
  if (token.kind === "variable") throw unsupported(token.text, token.line);
  const word = token.kind === "word" ? token.text.toUpperCase() : "";
  if (word === "DISK") {
    cursor.expectOp("=");
    return { path: readString(cursor) };
  }
  if (["TAPE", "URL", "DATABASE_SNAPSHOT"].includes(word)) throw unsupported(word, token.line);
  if (isName(token)) throw unsupported(`logical backup device ${token.text}`, token.line);
  throw tokenError(token);
}

function parseOptions(cursor: Cursor): Option[] {
  if (!cursor.acceptWord("WITH")) return [];
  const written = [parseOption(cursor)];
  while (cursor.acceptOp(",")) written.push(parseOption(cursor));
  return written;
}

function parseOption(cursor: Cursor): Option {
  const token = cursor.next();
  const name = token.kind === "word" ? token.text.toUpperCase() : "";
  if (unsupportedOptions.has(name)) throw unsupported(name, token.line);
  const optionSpec = options.get(name);
  if (optionSpec === undefined) throw tokenError(token);
  const option: Option = { name, token, value: null, move: null };
  switch (optionSpec.value) {
    case "flag": return option;
    case "move": return { ...option, move: readMove(cursor) };
    case "compression":
      readAlgorithm(cursor);
      return option;
    case "stats":
      if (!cursor.acceptOp("=")) return option;
      return { ...option, value: String(readInteger(cursor, 1, 100)) };
    default:
      cursor.expectOp("=");
      return { ...option, value: readValue(cursor, optionSpec.value) };
  }
}

function readValue(cursor: Cursor, kind: ValueKind): string {
  if (kind === "file") return String(readInteger(cursor, 1, 2147483647));
  if (kind === "integer") return String(readInteger(cursor, 0, 2147483647));
  if (kind === "text") return readString(cursor);
  // NAME and MEDIANAME may also be written as an identifier.
  const token = cursor.peek();
  if (token !== undefined && isName(token)) return cursor.next().value;
  return readString(cursor);
}

/** 'text' or N'text', unquoted. A variable is 40517; anything else a syntax error. */
function readString(cursor: Cursor): string {
  const token = cursor.next();
  if (token.kind === "variable") throw unsupported(token.text, token.line);
  if (token.kind !== "string" && token.kind !== "nstring") throw tokenError(token);
  return token.value;
}

/** An unsigned integer literal within [min, max]; out of range is a syntax error near it. */
function readInteger(cursor: Cursor, min: number, max: number): number {
  const token = cursor.next();
  if (token.kind === "variable") throw unsupported(token.text, token.line);
  const value = token.kind === "number" && /^\d+$/.test(token.text) ? Number(token.text) : NaN;
  if (!(value >= min && value <= max)) throw tokenError(token);
  return value;
}

/** MOVE 'logical' TO 'physical'. */
function readMove(cursor: Cursor): MoveClause {
  const logicalName = readString(cursor);
  cursor.expectWord("TO");
  return { logicalName, physicalName: readString(cursor) };
}

/** COMPRESSION [(ALGORITHM = name)]: the algorithm is read and ignored (one codec here). */
function readAlgorithm(cursor: Cursor): void {
  if (!cursor.acceptOp("(")) return;
  cursor.expectWord("ALGORITHM");
  cursor.expectOp("=");
  const token = cursor.next();
  if (token.kind !== "word" && token.kind !== "string" && token.kind !== "nstring") throw tokenError(token);
  cursor.expectOp(")");
}

/**
 * 3032 for every option the statement does not take, listed together as SQL Server lists
 * them; then 3032 for the first repeated or contradictory pair (see conflict()). These are
 * execution-time errors in SQL Server, so they carry the statement's first line.
 */
function checkOptions(form: Form, written: readonly Option[], line: number): void {
  const misplaced = written.filter((option) => !options.get(option.name)!.forms.includes(form));
  if (misplaced.length > 0) throw notSupported(misplaced.map((option) => option.name), line);
  written.forEach((option, index) => {
    const earlier = written.slice(0, index).find((other) => clashes(other.name, option.name));
    if (earlier !== undefined) throw conflict(earlier.name, option.name, line);
  });
}

function clashes(first: string, second: string): boolean {
  if (first === second) return first !== "MOVE";
  return opposites.some(([a, b]) => (a === first && b === second) || (a === second && b === first));
}

/** SQL Server names options in lower case in 3031/3032: "(norecovery)". */
function notSupported(names: readonly string[], line: number): SqlError {
  const list = names.map((name) => name.toLowerCase()).join(", ");
  return syntaxError("BACKUP_OPTION_NOT_SUPPORTED", [list], line);
}

/** Contradictory or repeated options: 3031 "Option 'x' conflicts with option(s) 'y'." */
function conflict(first: string, second: string, line: number): SqlError {
  return syntaxError("BACKUP_OPTION_CONFLICT", [second.toLowerCase(), first.toLowerCase()], line);
}

function backupCommand(target: BackupCommand["target"], database: string, devices: BackupDevice[],
  written: readonly Option[], line: number): BackupCommand {
  const has = (name: string): boolean => written.some((option) => option.name === name);
  const value = (name: string): string | null => written.find((option) => option.name === name)?.value ?? null;
  return {
    kind: "backup", target, database, devices,
    differential: has("DIFFERENTIAL"), copyOnly: has("COPY_ONLY"), init: has("INIT"),
    format: has("FORMAT"), skip: has("SKIP"),
    name: value("NAME"), description: value("DESCRIPTION"),
    mediaName: value("MEDIANAME"), mediaDescription: value("MEDIADESCRIPTION"),
    checksum: has("CHECKSUM"), compression: either(has("COMPRESSION"), has("NO_COMPRESSION")),
    stats: stats(written), noRecovery: has("NORECOVERY"), noTruncate: has("NO_TRUNCATE"),
    continueAfterError: has("CONTINUE_AFTER_ERROR"), line,
  };
}

function restoreCommand(target: RestoreCommand["target"], database: string | null, devices: BackupDevice[],
  written: readonly Option[], line: number): RestoreCommand {
  const has = (name: string): boolean => written.some((option) => option.name === name);
  const value = (name: string): string | null => written.find((option) => option.name === name)?.value ?? null;
  const file = value("FILE");
  return {
    kind: "restore", target, database, devices,
    recovery: !has("NORECOVERY"), replace: has("REPLACE"),
    file: file === null ? null : Number(file),
    moves: written.flatMap((option) => (option.move === null ? [] : [option.move])),
    stats: stats(written), stopAt: value("STOPAT"),
    checksum: either(has("CHECKSUM"), has("NO_CHECKSUM")),
    continueAfterError: has("CONTINUE_AFTER_ERROR"), loadHistory: has("LOADHISTORY"),
    mediaName: value("MEDIANAME"), line,
  };
}

/** true for the option, false for its opposite, null for neither (conflicts are refused). */
function either(on: boolean, off: boolean): boolean | null {
  if (on) return true;
  return off ? false : null;
}

/** STATS alone reports every 10 percent, as SQL Server's default. */
function stats(written: readonly Option[]): number | null {
  const option = written.find((candidate) => candidate.name === "STATS");
  if (option === undefined) return null;
  return option.value === null ? 10 : Number(option.value);
}
