// The recursive-descent parser of a batch: the session and database statements the server
// runs itself are parsed fully; data statements are delimited (boundary.ts) and checked by
// the rewriter; admin statements are delimited for the subsystems that implement them.
// A batch fails as a whole on the first error, as SQL Server compiles a batch before running
// any of it.

import { tokenize, type Token } from "./lexer.js";
import { Cursor, isName, tokenError } from "./cursor.js";
import { statementEnd } from "./boundary.js";
import { findCatalogViews, readChain } from "./names.js";
import { parseSet } from "./parse_set.js";
import { checkData } from "./rewrite.js";
import { unsupported } from "./errors.js";
import { isReserved, unsupportedStatementWords } from "./keywords.js";
import type {
  AdminStatement, AlterDatabaseOther, AlterDatabaseSetRecovery, BeginTransaction,
  CommitTransaction, CreateDatabase, DataStatement, DropDatabase, RollbackTransaction,
  Print, Raiserror, SaveTransaction, Statement, Use,
} from "./statements.js";

/**
 * Parses one batch (the text between GO lines) into its statements, in order. Statements
 * may be separated by ';' or by nothing at all. Throws the batch's first SqlError (102,
 * 105, 113, 156, 195, 40513, 40515, 40517), carrying the batch line (errors.ts).
 */
export function parseBatch(sql: string,
  options: { checkLoneStatement?: boolean; parameters?: ReadonlySet<string> } = {}): Statement[] {
  const cursor = new Cursor(tokenize(sql));
  const statements: Statement[] = [];
  for (;;) {
    while (cursor.acceptOp(";")) continue;
    if (cursor.atEnd()) break;
    statements.push(parseStatement(cursor, statements.length === 0));
  }
  // A bad statement refuses the whole batch before any of it runs. A batch of one statement
  // gets the same error when it is rewritten to run, so the server (checkLoneStatement false)
  // saves that second rewrite on its hottest path.
  if (statements.length > 1 || options.checkLoneStatement !== false) {
    for (const statement of statements) {
      if (statement.kind === "data") checkData(statement, options.parameters);
    }
  }
  return statements;
}

function parseStatement(cursor: Cursor, first: boolean): Statement {
  const start = cursor.position;
  const token = cursor.peek()!;
  if (token.kind === "op" && token.text === "(") return parseData(cursor, start);
  if (token.kind !== "word") throw tokenError(token);
  const word = token.text.toUpperCase();
  switch (word) {
    case "USE": return parseUse(cursor, start);
    case "SET": return parseSet(cursor, start);
    case "BEGIN": return parseBegin(cursor, start);
    case "COMMIT": return parseCommit(cursor, start);
    case "ROLLBACK": return parseRollback(cursor, start);
    case "SAVE": return parseSave(cursor, start);
    case "CREATE": return parseCreate(cursor, start);
    case "DROP": return parseDrop(cursor, start);
    case "ALTER": return parseAlter(cursor, start);
    case "SELECT": case "INSERT": case "DELETE": case "WITH": case "VALUES": case "EXPLAIN":
      return parseData(cursor, start);
    case "UPDATE":
      if (cursor.isWord("STATISTICS", 1)) throw unsupported("UPDATE STATISTICS", token.line);
      return parseData(cursor, start);
    case "TRUNCATE":
      if (!cursor.isWord("TABLE", 1)) throw tokenError(cursor.peek(1) ?? token);
      return parseData(cursor, start);
    case "PRINT": return parsePrint(cursor, start);
    case "RAISERROR": return parseRaiserror(cursor, start);
    case "BACKUP": case "RESTORE": return parseAdmin(cursor, start, backupVerb(cursor));
    case "GRANT": case "REVOKE": case "DENY": return parseAdmin(cursor, start, word);
    case "EXEC": case "EXECUTE":
      cursor.next();
      return parseExecute(cursor, start);
    default:
      break;
  }
  if (unsupportedStatementWords.has(word)) throw unsupported(word, token.line);
  // The first statement of a batch may call a procedure without EXEC.
  if (first && !isReserved(word)) return parseExecute(cursor, start);
  throw tokenError(token);
}

function parseData(cursor: Cursor, start: number): DataStatement {
  const end = statementEnd(cursor.tokens, start);
  cursor.position = end;
  checkParens(cursor.tokens.slice(start, end));
  const statement: DataStatement = {
    kind: "data",
    tokens: cursor.slice(start, end),
    catalogViews: findCatalogViews(cursor.tokens.slice(start, end)),
    ...cursor.span(start),
  };
  return statement;
}

function parsePrint(cursor: Cursor, start: number): Print {
  const end = statementEnd(cursor.tokens, start);
  if (end === start + 1) throw tokenError(cursor.tokens[start]!);
  cursor.position = end;
  checkParens(cursor.tokens.slice(start + 1, end));
  const expression: DataStatement = {
    kind: "data",
    tokens: cursor.slice(start + 1, end),
    catalogViews: findCatalogViews(cursor.tokens.slice(start + 1, end)),
    ...cursor.span(start + 1),
  };
  cursor.position = end;
  return { kind: "print", expression, ...cursor.span(start) };
}

/** RAISERROR ( message , severity , state [, argument]… ) [WITH option [, option]…]. */
function parseRaiserror(cursor: Cursor, start: number): Raiserror {
  cursor.next();
  expectOp(cursor, "(");
  const message = raiserrorArgument(cursor);
  expectOp(cursor, ",");
  const severity = raiserrorArgument(cursor);
  expectOp(cursor, ",");
  const state = raiserrorArgument(cursor);
  const args: Token[] = [];
  while (cursor.acceptOp(",")) args.push(raiserrorArgument(cursor));
  expectOp(cursor, ")");
  const options: string[] = [];
  if (cursor.isWord("WITH")) {
    cursor.next();
    do {
      const option = cursor.next();
      if (option?.kind !== "word" || !["LOG", "NOWAIT", "SETERROR"].includes(option.text.toUpperCase())) {
        throw tokenError(option ?? cursor.tokens[cursor.position - 1]!);
      }
      options.push(option.text.toUpperCase());
    } while (cursor.acceptOp(","));
  }
  return { kind: "raiserror", message, severity, state, args, options, ...cursor.span(start) };
}

function raiserrorArgument(cursor: Cursor): Token {
  let token = cursor.next();
  if (token?.kind === "op" && token.text === "-" && cursor.peek()?.kind === "number") {
    const number = cursor.next()!;
    token = { ...number, text: `-${number.text}`, value: `-${number.value}` };
  }
  if (token === undefined || !["string", "nstring", "number", "variable"].includes(token.kind)) {
    throw tokenError(token ?? cursor.tokens[cursor.position - 1]!);
  }
  return token;
}

function expectOp(cursor: Cursor, op: string): void {
  if (!cursor.acceptOp(op)) throw tokenError(cursor.peek() ?? cursor.tokens[cursor.position - 1]!);
}

/** An unclosed "(" is a syntax error near the statement's last token, as SQL Server reports. */
function checkParens(tokens: readonly Token[]): void {
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === "op" && token.text === "(") depth += 1;
    if (token.kind === "op" && token.text === ")") depth -= 1;
  }
  if (depth > 0) throw tokenError(tokens[tokens.length - 1]!);
}

function parseAdmin(cursor: Cursor, start: number, verb: string): AdminStatement {
  const end = statementEnd(cursor.tokens, start);
  cursor.position = end;
  return { kind: "admin", verb, tokens: cursor.tokens.slice(start, end), ...cursor.span(start) };
}

/** BACKUP/RESTORE plus what is backed up or restored: "BACKUP LOG", "RESTORE HEADERONLY". */
function backupVerb(cursor: Cursor): string {
  const words = [cursor.peek()!.text.toUpperCase()];
  const object = cursor.peek(1);
  if (object?.kind === "word") words.push(object.text.toUpperCase());
  const keyed = words[1] === "MASTER" || words[1] === "SERVICE" || words[1] === "SYMMETRIC";
  for (let offset = 2; keyed && offset <= 3; offset += 1) {
    const word = cursor.peek(offset);
    if (word?.kind !== "word") break;
    words.push(word.text.toUpperCase());
    if (words[words.length - 1] === "KEY") break;
  }
  return words.join(" ");
}

/**
 * EXEC[UTE] proc … or a bare procedure call: only the database mirroring monitor procedures
 * (sp_dbmmonitor*, in msdb) and sp_mirrorlite_endpoint_check (the endpoint diagnostic) belong to
 * the admin surface; every other call is refused.
 */
function parseExecute(cursor: Cursor, start: number): AdminStatement {
  const keyword = cursor.tokens[start]!;
  const chain = readChain(cursor.tokens, cursor.position);
  const variable = cursor.peek();
  if (variable?.kind === "variable") throw unsupported(variable.text, variable.line);
  const name = chain?.parts[chain.parts.length - 1]?.toLowerCase() ?? "";
  if (chain === null || !(name.startsWith("sp_dbmmonitor") || name === "sp_mirrorlite_endpoint_check")) {
    throw unsupported("EXECUTE", keyword.line);
  }
  return parseAdmin(cursor, start, `EXECUTE ${name}`);
}

function parseUse(cursor: Cursor, start: number): Use {
  cursor.expectWord("USE");
  const database = cursor.expectName();
  return { kind: "use", database, ...cursor.span(start) };
}

// Objects of the admin surface, one or two words after CREATE/ALTER/DROP.
const adminObjects = ["LOGIN", "USER", "CERTIFICATE", "ENDPOINT", "ROLE", "CREDENTIAL"];
const adminKeyObjects = ["MASTER", "SYMMETRIC", "ASYMMETRIC", "SERVER"];
const dataObjects = ["TABLE", "INDEX", "VIEW", "TRIGGER"];

/** "CREATE LOGIN", "DROP MASTER KEY", "ALTER SERVER ROLE"; null when not an admin object. */
function adminVerb(cursor: Cursor): string | null {
  const verb = cursor.peek()!.text.toUpperCase();
  const object = cursor.peek(1);
  if (object?.kind !== "word") return null;
  const word = object.text.toUpperCase();
  if (adminObjects.includes(word)) return `${verb} ${word}`;
  const second = cursor.peek(2);
  if (!adminKeyObjects.includes(word) || second?.kind !== "word") return null;
  return `${verb} ${word} ${second.text.toUpperCase()}`;
}

/** The 40517 for CREATE/ALTER/DROP of an object kind the server does not have. */
function unsupportedObject(cursor: Cursor): Error {
  const verb = cursor.peek()!;
  const object = cursor.peek(1);
  if (object === undefined) return cursor.unexpected();
  if (object.kind !== "word") return tokenError(object);
  return unsupported(`${verb.text.toUpperCase()} ${object.text.toUpperCase()}`, verb.line);
}

function parseCreate(cursor: Cursor, start: number): Statement {
  if (cursor.isWord("DATABASE", 1)) return parseCreateDatabase(cursor, start);
  const object = cursor.peek(1);
  const word = object?.kind === "word" ? object.text.toUpperCase() : "";
  if (dataObjects.includes(word) || ["UNIQUE", "CLUSTERED", "NONCLUSTERED"].includes(word)) {
    return parseData(cursor, start);
  }
  if (word === "OR") throw unsupported("CREATE OR ALTER", cursor.peek()!.line);
  const verb = adminVerb(cursor);
  if (verb !== null) return parseAdmin(cursor, start, verb);
  throw unsupportedObject(cursor);
}

function parseCreateDatabase(cursor: Cursor, start: number): CreateDatabase {
  cursor.expectWord("CREATE");
  cursor.expectWord("DATABASE");
  const name = cursor.expectName();
  // File placement, collation, containment, snapshots and attach have no meaning here.
  const option = cursor.acceptWord("ON", "COLLATE", "WITH", "CONTAINMENT", "LOG", "FOR", "AS");
  if (option !== null) throw unsupported(`CREATE DATABASE … ${option}`, cursor.previous()!.line);
  return { kind: "createDatabase", name, ...cursor.span(start) };
}

function parseDrop(cursor: Cursor, start: number): Statement {
  if (cursor.isWord("DATABASE", 1)) return parseDropDatabase(cursor, start);
  const object = cursor.peek(1);
  if (object?.kind === "word" && dataObjects.includes(object.text.toUpperCase())) {
    return parseData(cursor, start);
  }
  const verb = adminVerb(cursor);
  if (verb !== null) return parseAdmin(cursor, start, verb);
  throw unsupportedObject(cursor);
}

function parseDropDatabase(cursor: Cursor, start: number): DropDatabase {
  cursor.expectWord("DROP");
  cursor.expectWord("DATABASE");
  const ifExists = cursor.acceptWord("IF") !== null;
  if (ifExists) cursor.expectWord("EXISTS");
  const names = [cursor.expectName()];
  while (cursor.acceptOp(",")) names.push(cursor.expectName());
  return { kind: "dropDatabase", names, ifExists, ...cursor.span(start) };
}

function parseAlter(cursor: Cursor, start: number): Statement {
  if (cursor.isWord("DATABASE", 1)) return parseAlterDatabase(cursor, start);
  if (cursor.isWord("TABLE", 1)) return parseData(cursor, start);
  const verb = adminVerb(cursor);
  if (verb !== null) return parseAdmin(cursor, start, verb);
  throw unsupportedObject(cursor);
}

function parseAlterDatabase(cursor: Cursor, start: number): AlterDatabaseSetRecovery | AlterDatabaseOther {
  cursor.expectWord("ALTER");
  cursor.expectWord("DATABASE");
  const name = cursor.acceptWord("CURRENT") !== null ? null : cursor.expectName();
  const action = cursor.peek();
  if (cursor.acceptWord("SET") === null) {
    if (action?.kind !== "word") throw cursor.unexpected();
    throw unsupported(`ALTER DATABASE ${action.text.toUpperCase()}`, action.line);
  }
  const optionToken = cursor.peek();
  if (optionToken?.kind !== "word") throw cursor.unexpected();
  const option = optionToken.text.toUpperCase();
  if (option === "RECOVERY") return parseRecovery(cursor, start, name);
  const optionIndex = cursor.position;
  const end = statementEnd(cursor.tokens, optionIndex);
  cursor.position = end;
  return {
    kind: "alterDatabaseOther", name, option,
    rest: cursor.text(optionIndex + 1, end),
    tokens: cursor.tokens.slice(optionIndex + 1, end),
    ...cursor.span(start),
  };
}

function parseRecovery(cursor: Cursor, start: number, name: string | null): AlterDatabaseSetRecovery {
  cursor.expectWord("RECOVERY");
  const model = cursor.expectWord("FULL", "SIMPLE", "BULK_LOGGED") as AlterDatabaseSetRecovery["model"];
  const extra = cursor.peek();
  if (extra !== undefined && cursor.acceptOp(",")) {
    throw unsupported("ALTER DATABASE … SET with several options", extra.line);
  }
  if (cursor.acceptWord("WITH") !== null) parseTermination(cursor);
  return { kind: "alterDatabaseSetRecovery", name, model, ...cursor.span(start) };
}

/** WITH NO_WAIT | ROLLBACK IMMEDIATE | ROLLBACK AFTER n [SECONDS]: accepted, nothing to wait for. */
function parseTermination(cursor: Cursor): void {
  if (cursor.acceptWord("NO_WAIT") !== null) return;
  cursor.expectWord("ROLLBACK");
  if (cursor.acceptWord("IMMEDIATE") !== null) return;
  cursor.expectWord("AFTER");
  if (cursor.peek()?.kind !== "number") throw cursor.unexpected();
  cursor.next();
  cursor.acceptWord("SECONDS");
}

function parseBegin(cursor: Cursor, start: number): BeginTransaction {
  const begin = cursor.next();
  if (cursor.acceptWord("TRAN", "TRANSACTION") === null) {
    const next = cursor.peek();
    const word = next?.kind === "word" ? next.text.toUpperCase() : "";
    if (word === "DISTRIBUTED") throw unsupported("BEGIN DISTRIBUTED TRANSACTION", begin.line);
    if (["TRY", "CATCH", "DIALOG", "CONVERSATION", "ATOMIC"].includes(word)) {
      throw unsupported(`BEGIN ${word}`, begin.line);
    }
    throw unsupported("BEGIN", begin.line);
  }
  const name = transactionName(cursor);
  if (cursor.acceptWord("WITH") !== null) {
    cursor.expectWord("MARK");
    const description = cursor.peek();
    if (description?.kind === "string" || description?.kind === "nstring") cursor.next();
  }
  return { kind: "beginTransaction", name, ...cursor.span(start) };
}

function parseCommit(cursor: Cursor, start: number): CommitTransaction {
  cursor.next();
  let name: string | null = null;
  if (cursor.acceptWord("TRAN", "TRANSACTION") !== null) name = transactionName(cursor);
  else cursor.acceptWord("WORK");
  const option = cursor.peek();
  if (option !== undefined && cursor.isWord("WITH")) throw unsupported("DELAYED_DURABILITY", option.line);
  return { kind: "commitTransaction", name, ...cursor.span(start) };
}

function parseRollback(cursor: Cursor, start: number): RollbackTransaction {
  cursor.next();
  let savepoint: string | null = null;
  if (cursor.acceptWord("TRAN", "TRANSACTION") !== null) savepoint = transactionName(cursor);
  else cursor.acceptWord("WORK");
  return { kind: "rollbackTransaction", savepoint, ...cursor.span(start) };
}

function parseSave(cursor: Cursor, start: number): SaveTransaction {
  cursor.next();
  cursor.expectWord("TRAN", "TRANSACTION");
  const name = transactionName(cursor);
  if (name === null) throw cursor.unexpected();
  return { kind: "saveTransaction", name, ...cursor.span(start) };
}

/**
 * An optional transaction or savepoint name. A reserved word is the next statement, never a
 * name ("BEGIN TRAN\nSELECT 1"); a @variable name is refused.
 */
function transactionName(cursor: Cursor): string | null {
  const token = cursor.peek();
  if (token?.kind === "variable") throw unsupported(token.text, token.line);
  if (token === undefined || !isName(token)) return null;
  cursor.next();
  return token.value;
}
