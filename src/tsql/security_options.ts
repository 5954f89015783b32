// Shared pieces of the security statement parser (security_statements.ts): a reader that
// defers execution-time errors until the whole statement is known to be well formed, value
// readers (strings, names, 0x… binaries, ON/OFF, port numbers, IP addresses), and the
// clauses that more than one statement uses: PRIVATE KEY ( … ), AS TCP ( … ) and
// FOR DATABASE_MIRRORING ( … ) (spec/mirroring.md §3.1, §3.2, §3.5, §3.6).

import { isIPv4, isIPv6 } from "../util/ip.js";
import type { Token } from "./lexer.js";
import { Cursor, tokenError } from "./cursor.js";
import { syntaxError, unsupported } from "./errors.js";
import type { SqlError } from "../errors/sql_error.js";
import type { ErrorName } from "../errors/catalog.js";
import type { AdminStatement } from "./statements.js";
import type { EndpointMirroringOptions } from "./security_statements.js";

/**
 * A cursor over one statement plus the errors SQL Server raises only once the statement has
 * compiled (conflicting options, port range, WINDOWS authentication, RC4): those are kept
 * until finish(), so a syntax error or 40517 later in the statement is reported first, as
 * backup_statements.ts orders its 3031/3032. They carry the statement's first line.
 */
export class Reader {
  readonly cursor: Cursor;
  readonly verb: string;
  readonly line: number;
  private readonly deferred: SqlError[] = [];

  /** Starts after the verb's words, which parser.ts has read already. */
  constructor(statement: AdminStatement) {
    this.cursor = new Cursor(statement.tokens);
    this.verb = statement.verb;
    this.line = statement.line;
    for (const word of statement.verb.split(" ")) this.cursor.expectWord(word);
  }

  /** An error raised at once, on the statement's first line (not tied to one token). */
  error(name: ErrorName, args: readonly (string | number)[] = []): SqlError {
    return syntaxError(name, args, this.line);
  }

  defer(name: ErrorName, args: readonly (string | number)[] = []): void {
    this.deferred.push(this.error(name, args));
  }

  /** The statement must end here; then the first deferred error, if any, is thrown. */
  finish(): void {
    if (!this.cursor.atEnd()) throw this.cursor.unexpected();
    const first = this.deferred[0];
    if (first !== undefined) throw first;
  }

  /** The next token read as an option keyword: its upper-cased text, "" for a non-word. */
  optionWord(): { word: string; token: Token } {
    const token = this.cursor.next();
    return { word: token.kind === "word" ? token.text.toUpperCase() : "", token };
  }

  /** An identifier or [quoted] name, unquoted. A @variable is 40517 (nothing is dynamic here). */
  name(): string {
    refuseVariable(this.cursor.peek());
    return this.cursor.expectName();
  }

  /** 'text' or N'text', unquoted: passwords, file paths, subjects and dates. */
  string(): string {
    const token = this.cursor.next();
    refuseVariable(token);
    if (token.kind !== "string" && token.kind !== "nstring") throw tokenError(token);
    return token.value;
  }

  /** `= 'text'`. */
  assignedString(): string {
    this.cursor.expectOp("=");
    return this.string();
  }

  /** `= name`. */
  assignedName(): string {
    this.cursor.expectOp("=");
    return this.name();
  }

  /** `= ON | OFF` as true | false. */
  onOff(): boolean {
    this.cursor.expectOp("=");
    return this.cursor.expectWord("ON", "OFF") === "ON";
  }

  /** A 0x… literal. An odd digit count is padded on the left, as SQL Server reads 0x123 as 0x0123. */
  binary(): Buffer {
    const token = this.cursor.next();
    refuseVariable(token);
    if (token.kind !== "binary") throw tokenError(token);
    const hex = token.text.slice(2);
    return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex");
  }

  /** ENCRYPTION BY PASSWORD = 'p' / DECRYPTION BY PASSWORD = 'p', after the first word. */
  byPassword(): string {
    this.cursor.expectWord("BY");
    this.cursor.expectWord("PASSWORD");
    return this.assignedString();
  }

  /** Tracks the options of one list for repeats and contradictions (see OptionTracker). */
  options(): OptionTracker {
    return new OptionTracker(this);
  }
}

function refuseVariable(token: Token | undefined): void {
  if (token?.kind === "variable") throw unsupported(token.text, token.line);
}

/**
 * The options of one list, in the order written. A repeated option, or two that contradict
 * each other, is 3031 "Option 'second' conflicts with option(s) 'first'" with lower-case
 * names, the error backup_statements.ts gives for the same mistake.
 */
export class OptionTracker {
  private readonly written: string[] = [];

  constructor(private readonly reader: Reader) {}

  note(name: string): void {
    if (this.written.includes(name)) this.reader.defer("BACKUP_OPTION_CONFLICT", [lower(name), lower(name)]);
    this.written.push(name);
  }

  /** 3031 when both options were written, naming them in the order they appear. */
  contradict(a: string, b: string): void {
    const first = this.written.indexOf(a);
    const second = this.written.indexOf(b);
    if (first < 0 || second < 0) return;
    const [earlier, later] = first < second ? [a, b] : [b, a];
    this.reader.defer("BACKUP_OPTION_CONFLICT", [lower(later), lower(earlier)]);
  }
}

function lower(name: string): string {
  return name.toLowerCase();
}

/**
 * `first … [, option …]…`: the grammar fixes the first option (PASSWORD, SUBJECT) or leaves
 * it free (first null); `readOption` reads one option from its upper-cased word on.
 */
export function optionList(reader: Reader, first: string | null, readOption: (word: string, token: Token) => void): void {
  if (first !== null && !reader.cursor.isWord(first)) throw reader.cursor.unexpected();
  do {
    const { word, token } = reader.optionWord();
    readOption(word, token);
  } while (reader.cursor.acceptOp(","));
}

/** `item [, item]…`. */
export function readList<T>(reader: Reader, readOne: () => T): T[] {
  const items = [readOne()];
  while (reader.cursor.acceptOp(",")) items.push(readOne());
  return items;
}

/** A permission or principal named twice is granted once, in the order first written. */
export function distinct(items: readonly string[]): string[] {
  return items.filter((item, index) => items.findIndex((other) => other.toLowerCase() === item.toLowerCase()) === index);
}

/**
 * DEFAULT_LANGUAGE = name: read and ignored. Scripted logins (sp_help_revlogin, SSMS) carry
 * it, and mirrorlite has one language.
 */
export function readLanguage(reader: Reader): void {
  reader.cursor.expectOp("=");
  const token = reader.cursor.peek();
  if (token?.kind === "string" || token?.kind === "nstring") reader.string();
  else reader.name();
}

/**
 * `( option [sep option]… )` where each option is read by `readOne`; `sep` is a required
 * comma, or an optional one as in the endpoint clauses. Returns the ")" token, which SQL
 * Server names when a required option is missing.
 */
export function parenList(reader: Reader, commas: "required" | "optional", readOne: () => void): Token {
  const cursor = reader.cursor;
  cursor.expectOp("(");
  readOne();
  while (!cursor.isOp(")")) {
    if (!cursor.acceptOp(",") && commas === "required") throw cursor.unexpected();
    readOne();
  }
  return cursor.next();
}

export interface PrivateKeyClause {
  file: string;
  decryptionPassword: string | null;
  encryptionPassword: string | null;
}

/**
 * PRIVATE KEY ( FILE = 'k' [, DECRYPTION BY PASSWORD = 'p'] [, ENCRYPTION BY PASSWORD = 'p'] ),
 * after WITH. FILE is required and so, for BACKUP CERTIFICATE, is ENCRYPTION BY PASSWORD
 * (a private key is never written unencrypted): without them, a syntax error near ")".
 */
export function readPrivateKey(reader: Reader, statement: "create" | "backup"): PrivateKeyClause {
  reader.cursor.expectWord("PRIVATE");
  reader.cursor.expectWord("KEY");
  const seen = reader.options();
  const key: { file: string | null; decryptionPassword: string | null; encryptionPassword: string | null } =
    { file: null, decryptionPassword: null, encryptionPassword: null };
  const close = parenList(reader, "required", () => {
    const { word, token } = reader.optionWord();
    if (word === "BINARY" && statement === "create") throw unsupported("PRIVATE KEY BINARY", token.line);
    if (word === "FILE") key.file = reader.assignedString();
    else if (word === "DECRYPTION") key.decryptionPassword = reader.byPassword();
    else if (word === "ENCRYPTION") key.encryptionPassword = reader.byPassword();
    else throw tokenError(token);
    seen.note(word === "FILE" ? word : `${word} BY PASSWORD`);
  });
  if (key.file === null) throw tokenError(close);
  if (statement === "backup" && key.encryptionPassword === null) throw tokenError(close);
  return { ...key, file: key.file };
}

export type EndpointState = "STARTED" | "STOPPED" | "DISABLED";

/** [STATE = STARTED | STOPPED | DISABLED]. */
export function readState(reader: Reader): EndpointState | null {
  if (reader.cursor.acceptWord("STATE") === null) return null;
  reader.cursor.expectOp("=");
  return reader.cursor.expectWord("STARTED", "STOPPED", "DISABLED") as EndpointState;
}

export interface TcpClause {
  port: number | null;
  /** undefined: not given; null: ALL; otherwise the address as written. */
  listenerIp: string | null | undefined;
  close: Token;
}

/** `( LISTENER_PORT = n [[,] LISTENER_IP = …] )` after AS TCP, in either order. */
export function readTcp(reader: Reader): TcpClause {
  const seen = reader.options();
  let port: number | null = null;
  let listenerIp: string | null | undefined;
  const close = parenList(reader, "optional", () => {
    const { word, token } = reader.optionWord();
    if (word === "LISTENER_PORT") port = readPort(reader);
    else if (word === "LISTENER_IP") listenerIp = readListenerIp(reader);
    else throw tokenError(token);
    seen.note(word);
  });
  return { port, listenerIp, close };
}

/** An integer literal; outside 1024..32767 is 7873 once the statement has compiled. */
function readPort(reader: Reader): number {
  reader.cursor.expectOp("=");
  const token = reader.cursor.next();
  refuseVariable(token);
  if (token.kind !== "number" || !/^\d+$/.test(token.text)) throw tokenError(token);
  const port = Number(token.text);
  if (port < 1024 || port > 32767) reader.defer("ENDPOINT_PORT_RANGE", [port]);
  return port;
}

/** `= ALL` (null) | `( 1.2.3.4 )` | `( '::1' )`: the address text, checked by util/ip.ts. */
function readListenerIp(reader: Reader): string | null {
  const cursor = reader.cursor;
  cursor.expectOp("=");
  if (cursor.acceptWord("ALL") !== null) return null;
  cursor.expectOp("(");
  const first = cursor.peek();
  // IPv6 is quoted (the docs show both '…' and "…"); a quoted IPv4 is accepted as well.
  const quoted = first?.kind === "string" || first?.kind === "nstring" || first?.text.startsWith('"') === true;
  const address = quoted ? cursor.next().value : readIpv4(cursor);
  if (quoted ? !isIPv4(address) && !isIPv6(address) : !isIPv4(address)) throw tokenError(first!);
  cursor.expectOp(")");
  return address;
}

/**
 * An unquoted IPv4 address: the lexer reads 127.0.0.1 as the numbers "127.0", ".0", ".1", so
 * the address is the text of the number tokens that touch each other (no space between).
 */
function readIpv4(cursor: Cursor): string {
  let token = cursor.next();
  if (token.kind !== "number") throw tokenError(token);
  let text = token.text;
  for (let next = cursor.peek(); next?.kind === "number" && next.start === token.end; next = cursor.peek()) {
    token = cursor.next();
    text += token.text;
  }
  return text;
}

export interface MirroringClause { options: EndpointMirroringOptions; close: Token }

/**
 * `( [AUTHENTICATION = …] [[,] ENCRYPTION = …] [[,] ROLE = …] )` after FOR DATABASE_MIRRORING,
 * in any order. The caller decides whether ROLE is required (CREATE) or not (ALTER).
 */
export function readMirroring(reader: Reader): MirroringClause {
  const seen = reader.options();
  const options: EndpointMirroringOptions = { role: null, certificate: null, encryption: null, algorithms: null };
  const close = parenList(reader, "optional", () => {
    const { word, token } = reader.optionWord();
    if (word === "AUTHENTICATION") options.certificate = readAuthentication(reader);
    else if (word === "ENCRYPTION") readEncryption(reader, options);
    else if (word === "ROLE") options.role = readRole(reader);
    else throw tokenError(token);
    seen.note(word);
  });
  return { options, close };
}

function readRole(reader: Reader): EndpointMirroringOptions["role"] {
  reader.cursor.expectOp("=");
  return reader.cursor.expectWord("PARTNER", "WITNESS", "ALL") as EndpointMirroringOptions["role"];
}

/**
 * `= CERTIFICATE name [WINDOWS [protocol]]` or `= WINDOWS [protocol] [CERTIFICATE name]`.
 * Any WINDOWS is 28054: mirrorlite instances prove who they are with certificates only. The
 * whole clause is read first so that the rest of the statement is still syntax-checked.
 */
function readAuthentication(reader: Reader): string | null {
  const cursor = reader.cursor;
  cursor.expectOp("=");
  if (readWindows(reader)) return cursor.acceptWord("CERTIFICATE") === null ? null : reader.name();
  cursor.expectWord("CERTIFICATE");
  const certificate = reader.name();
  readWindows(reader);
  return certificate;
}

function readWindows(reader: Reader): boolean {
  if (reader.cursor.acceptWord("WINDOWS") === null) return false;
  reader.cursor.acceptWord("NTLM", "KERBEROS", "NEGOTIATE");
  reader.defer("ENDPOINT_WINDOWS_AUTH");
  return true;
}

/**
 * `= DISABLED | { SUPPORTED | REQUIRED } [ALGORITHM { AES | RC4 | AES RC4 | RC4 AES }]`.
 * ALGORITHM after DISABLED is outside the grammar (a syntax error near it); RC4 alone is
 * 28079 (deprecated, and not implemented), while AES RC4 / RC4 AES negotiate down to AES.
 */
function readEncryption(reader: Reader, options: EndpointMirroringOptions): void {
  const cursor = reader.cursor;
  cursor.expectOp("=");
  options.encryption = cursor.expectWord("DISABLED", "SUPPORTED", "REQUIRED") as EndpointMirroringOptions["encryption"];
  if (!cursor.isWord("ALGORITHM")) return;
  if (options.encryption === "DISABLED") throw cursor.unexpected();
  cursor.next();
  const first = cursor.expectWord("AES", "RC4") as "AES" | "RC4";
  const second = cursor.acceptWord(first === "AES" ? "RC4" : "AES") as "AES" | "RC4" | null;
  options.algorithms = second === null ? [first] : [first, second];
  if (second === null && first === "RC4") reader.defer("ENDPOINT_RC4");
}
