// The one catalog of client-visible errors: SQL Server's number, severity and message text.
// Append-only: a number, once shipped, keeps its meaning. Texts use %s / %d placeholders in the
// order SQL Server fills them.

export interface CatalogEntry {
  readonly number: number;
  readonly symbol: string;
  readonly severity: number;
  readonly state: number;
  readonly text: string;
}

import { backupErrorCatalog } from "./catalog_backup.js";
import { mirroringErrorCatalog } from "./catalog_mirroring.js";
import { securityErrorCatalog } from "./catalog_security.js";

export const errorCatalog = {
  ...backupErrorCatalog,
  ...securityErrorCatalog,
  ...mirroringErrorCatalog,
  // Instance: logins, sessions, databases
  LOGIN_FAILED: {
    number: 18456, symbol: "LOGON_FAILED", severity: 14, state: 1,
    text: "Login failed for user '%s'.",
  },
  LOGIN_INTEGRATED_REFUSED: {
    number: 18452, symbol: "LOGON_INVALID_CONNECT", severity: 14, state: 1,
    text: "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.",
  },
  LOGIN_DATABASE_UNAVAILABLE: {
    number: 4060, symbol: "LOGIN_DB_UNAVAILABLE", severity: 11, state: 1,
    text: "Cannot open database \"%s\" requested by the login. The login failed.",
  },
  DATABASE_CONTEXT_CHANGED: {
    number: 5701, symbol: "DBCHANGE", severity: 0, state: 2,
    text: "Changed database context to '%s'.",
  },
  LANGUAGE_CHANGED: {
    number: 5703, symbol: "LANGCHANGE", severity: 0, state: 1,
    text: "Changed language setting to %s.",
  },
  DATABASE_DOES_NOT_EXIST: {
    number: 911, symbol: "DBNAME_NOT_FOUND", severity: 16, state: 1,
    text: "Database '%s' does not exist. Make sure that the name is entered correctly.",
  },
  DATABASE_ALREADY_EXISTS: {
    number: 1801, symbol: "DB_ALREADY_EXISTS", severity: 16, state: 3,
    text: "Database '%s' already exists. Choose a different database name.",
  },
  DATABASE_NAME_INVALID: {
    number: 15151, symbol: "DB_NAME_INVALID", severity: 16, state: 1,
    text: "Cannot create the database '%s': mirrorlite database names start with a letter or underscore and use letters, digits and _@#$- (at most 128).",
  },
  DROP_DATABASE_MISSING: {
    number: 3701, symbol: "DROP_DB_MISSING", severity: 11, state: 1,
    text: "Cannot drop the database '%s', because it does not exist or you do not have permission.",
  },
  DROP_DATABASE_IN_USE: {
    number: 3702, symbol: "DROP_DB_IN_USE", severity: 16, state: 4,
    text: "Cannot drop database \"%s\" because it is currently in use.",
  },
  DROP_SYSTEM_DATABASE: {
    number: 3708, symbol: "DROP_SYSTEM_OBJECT", severity: 16, state: 1,
    text: "Cannot drop the database '%s' because it is a system database.",
  },
  ALTER_DATABASE_MISSING: {
    number: 5011, symbol: "ALTERDB_NO_ACCESS", severity: 14, state: 5,
    text: "User does not have permission to alter database '%s', the database does not exist, or the database is not in a state that allows access checks.",
  },
  NOT_IN_TRANSACTION: {
    number: 226, symbol: "XACT_NOT_ALLOWED", severity: 16, state: 6,
    text: "%s statement not allowed within multi-statement transaction.",
  },
  INVALID_OBJECT_NAME: {
    number: 208, symbol: "OBJECT_NOT_FOUND", severity: 16, state: 1,
    text: "Invalid object name '%s'.",
  },
  INVALID_COLUMN_NAME: {
    number: 207, symbol: "COLUMN_NOT_FOUND", severity: 16, state: 1,
    text: "Invalid column name '%s'.",
  },
  OBJECT_ALREADY_EXISTS: {
    number: 2714, symbol: "OBJECT_EXISTS", severity: 16, state: 6,
    text: "There is already an object named '%s' in the database.",
  },
  DUPLICATE_KEY: {
    number: 2627, symbol: "DUPLICATE_KEY", severity: 14, state: 1,
    text: "Violation of PRIMARY KEY or UNIQUE constraint. Cannot insert duplicate key (%s).",
  },
  NULL_NOT_ALLOWED: {
    number: 515, symbol: "NULL_NOT_ALLOWED", severity: 16, state: 2,
    text: "Cannot insert the value NULL into column '%s'; column does not allow nulls.",
  },
  CONSTRAINT_CONFLICT: {
    number: 547, symbol: "CONSTRAINT_CONFLICT", severity: 16, state: 0,
    text: "The statement conflicted with a constraint: %s.",
  },
  SQL_SYNTAX_ERROR: {
    number: 102, symbol: "SYNTAX_ERROR_NEAR", severity: 15, state: 1,
    text: "Incorrect syntax near '%s'.",
  },
  CATALOG_READ_ONLY: {
    number: 259, symbol: "ADHOC_CATALOG_UPDATE", severity: 16, state: 1,
    text: "Ad hoc updates to system catalogs are not allowed.",
  },
  CONVERSION_FAILED: {
    number: 245, symbol: "CONVERSION_FAILED", severity: 16, state: 1,
    text: "Conversion failed when converting the %s value '%s' to data type %s.",
  },
  IMPLICIT_CONVERSION: {
    number: 257, symbol: "IMPLICIT_CONVERSION", severity: 16, state: 3,
    text: "Implicit conversion from data type %s to %s is not allowed.",
  },
  ARITHMETIC_OVERFLOW: {
    number: 8115, symbol: "ARITHMETIC_OVERFLOW", severity: 16, state: 2,
    text: "Arithmetic overflow error converting expression to data type %s.",
  },
  STRING_TRUNCATED: {
    number: 8152, symbol: "STRING_TRUNCATED", severity: 16, state: 30,
    text: "String or binary data would be truncated.",
  },
  RAISERROR_NEEDS_LOG: {
    number: 2754, symbol: "RAISERROR_SEVERITY_LOG", severity: 16, state: 1,
    text: "Error severity levels greater than 18 can only be specified by members of the sysadmin role, using the WITH LOG option.",
  },
  RAISERROR_SEVERITY: {
    number: 2755, symbol: "RAISERROR_BAD_SEVERITY", severity: 16, state: 1,
    text: "The severity %s is outside the range 0 to 25.",
  },
  RAISERROR_NO_MESSAGE: {
    number: 18054, symbol: "RAISERROR_NO_MESSAGE", severity: 16, state: 1,
    text: "Error %s, severity %s, state %s was raised, but no message with that error number was found in sys.messages. If error is larger than 50000, make sure the user-defined message is added using sp_addmessage.",
  },
  PROCEDURE_NOT_FOUND: {
    number: 2812, symbol: "PROC_NOT_FOUND", severity: 16, state: 62,
    text: "Could not find stored procedure '%s'.",
  },
  PREPARED_HANDLE_INVALID: {
    number: 8179, symbol: "PREPARED_HANDLE_INVALID", severity: 16, state: 2,
    text: "Could not find prepared statement with handle %s.",
  },
  PROCEDURE_PARAMETER_MISSING: {
    number: 201, symbol: "PARAMETER_MISSING", severity: 16, state: 4,
    text: "Procedure or function '%s' expects parameter '%s', which was not supplied.",
  },
  PARAMETER_NOT_DECLARED: {
    number: 8145, symbol: "PARAMETER_NOT_DECLARED", severity: 16, state: 1,
    text: "%s is not a parameter for procedure %s.",
  },
  TRANSACTION_MANAGER_REQUEST: {
    number: 8524, symbol: "TM_REQUEST_UNSUPPORTED", severity: 16, state: 1,
    text: "The current transaction could not be exported to the remote provider (transaction manager request %s is not supported).",
  },
  TDS_STREAM_INCORRECT: {
    number: 4002, symbol: "TDS_STREAM_INCORRECT", severity: 16, state: 1,
    text: "The incoming tabular data stream (TDS) protocol stream is incorrect. %s",
  },
  TDS_RPC_STREAM_INCORRECT: {
    number: 8009, symbol: "TDS_RPC_STREAM_INCORRECT", severity: 16, state: 1,
    text: "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. %s",
  },
  INSUFFICIENT_MEMORY: {
    number: 701, symbol: "NO_MEMORY", severity: 17, state: 123,
    text: "There is insufficient system memory in resource pool '%s' to run this query.",
  },
  SERVER_SHUTTING_DOWN: {
    number: 6005, symbol: "SHUTDOWN_IN_PROGRESS", severity: 14, state: 2,
    text: "SHUTDOWN is in progress.",
  },
  LOCK_TIMEOUT: {
    number: 1222, symbol: "LK_TIMEOUT", severity: 16, state: 51,
    text: "Lock request time out period exceeded.",
  },
  QUERY_CANCELLED: {
    number: 3617, symbol: "ATTENTION", severity: 25, state: 1,
    text: "The query was cancelled by the client (attention) or by a query timeout.",
  },
  SQLITE_STATEMENT: {
    number: 50000, symbol: "STATEMENT_FAILED", severity: 16, state: 1,
    text: "%s",
  },
  TRANSACTION_DOOMED: {
    number: 3998, symbol: "XACT_ABORTED", severity: 16, state: 1,
    text: "Uncommittable transaction is detected at the end of the batch. The transaction is rolled back.",
  },
  NO_TRANSACTION_TO_COMMIT: {
    number: 3902, symbol: "XACT_NO_BEGIN_COMMIT", severity: 16, state: 1,
    text: "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.",
  },
  NO_TRANSACTION_TO_ROLLBACK: {
    number: 3903, symbol: "XACT_NO_BEGIN_ROLLBACK", severity: 16, state: 1,
    text: "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.",
  },
  SAVEPOINT_NOT_FOUND: {
    number: 6401, symbol: "XACT_SAVEPOINT_NOT_FOUND", severity: 16, state: 1,
    text: "Cannot roll back %s. No transaction or savepoint of that name was found.",
  },
  TRANSACTION_CONTROL_IN_STATEMENT: {
    number: 50001, symbol: "XACT_CONTROL_STATEMENT", severity: 16, state: 1,
    text: "Transaction control statement '%s' must go through the session's transaction calls.",
  },
  SESSION_BUSY: {
    number: 3980, symbol: "DB_SHUTDOWN", severity: 16, state: 1,
    text: "The request failed to run because the batch is aborted, this can be caused by abort signal sent from client, or another request is running in the same session, which makes the session busy.",
  },
  // T-SQL front end (src/tsql). Numbers, severities and texts from sql-docs "Database engine
  // events and errors"; only P_SYNTAXERR2 is a documented symbol, the others are descriptive.
  // 195's state 7 is what SQL Server reports for an unknown SET option.
  SYNTAX_ERROR: {
    number: 102, symbol: "P_SYNTAXERR2", severity: 15, state: 1,
    text: "Incorrect syntax near '%s'.",
  },
  UNCLOSED_QUOTATION: {
    number: 105, symbol: "P_UNCLOSED_QUOTE", severity: 15, state: 1,
    text: "Unclosed quotation mark after the character string '%s'.",
  },
  MISSING_END_COMMENT: {
    number: 113, symbol: "P_MISSING_END_COMMENT", severity: 15, state: 1,
    text: "Missing end comment mark '*/'.",
  },
  SYNTAX_ERROR_KEYWORD: {
    number: 156, symbol: "P_SYNTAXERR_KEYWORD", severity: 15, state: 1,
    text: "Incorrect syntax near the keyword '%s'.",
  },
  UNRECOGNIZED_OPTION: {
    number: 195, symbol: "P_UNRECOGNIZED_OPTION", severity: 15, state: 7,
    text: "'%s' is not a recognized %s.",
  },
  UNSUPPORTED_KEYWORD: {
    number: 40517, symbol: "UNSUPPORTED_KEYWORD", severity: 16, state: 1,
    text: "Keyword or statement option '%s' is not supported in this version of SQL Server.",
  },
  SERVER_VARIABLE_UNSUPPORTED: {
    number: 40513, symbol: "UNSUPPORTED_SERVER_VARIABLE", severity: 16, state: 1,
    text: "Server variable '%s' is not supported in this version of SQL Server.",
  },
  CROSS_DATABASE_REFERENCE: {
    number: 40515, symbol: "UNSUPPORTED_DATABASE_REFERENCE", severity: 16, state: 1,
    text: "Reference to database and/or server name in '%s' is not supported in this version of SQL Server.",
  },
  // TLS
  ENCRYPTION_REQUIRED: {
    number: 17835, symbol: "ENCRYPTION_REQUIRED", severity: 20, state: 1,
    text: "Encryption is required to connect to this server but the client library does not support encryption; the connection has been closed. Please upgrade your client library.",
  },
  // TDS types and RPC: conversions of result values to a column's declared type (src/tds).
  DATE_CONVERSION_FAILED: {
    number: 241, symbol: "DATE_CONVERSION_FAILED", severity: 16, state: 1,
    text: "Conversion failed when converting date and/or time from character string.",
  },
  DATETIME_OUT_OF_RANGE: {
    number: 242, symbol: "DATETIME_OUT_OF_RANGE", severity: 16, state: 3,
    text: "The conversion of a %s data type to a %s data type resulted in an out-of-range value.",
  },
  OPERAND_TYPE_CLASH: {
    number: 206, symbol: "OPERAND_TYPE_CLASH", severity: 16, state: 2,
    text: "Operand type clash: %s is incompatible with %s",
  },
  NUMERIC_CONVERSION_FAILED: {
    number: 8114, symbol: "NUMERIC_CONVERSION_FAILED", severity: 16, state: 5,
    text: "Error converting data type %s to %s.",
  },
  GUID_CONVERSION_FAILED: {
    number: 8169, symbol: "GUID_CONVERSION_FAILED", severity: 16, state: 2,
    text: "Conversion failed when converting from a character string to uniqueidentifier.",
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorName = keyof typeof errorCatalog;
