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

export const errorCatalog = {
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
} as const satisfies Record<string, CatalogEntry>;

export type ErrorName = keyof typeof errorCatalog;
