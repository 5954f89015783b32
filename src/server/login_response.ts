// The login response, in the order SQL Server sends it (spec/tds.md §1.5): database, its INFO,
// collation, language, its INFO, the mirroring partner (ENVCHANGE 13, a principal only),
// LOGINACK, packet size, DONE.
import { SqlError } from "../errors/sql_error.js";
import { COLLATION_LATIN1_CI_AS, DoneStatus, EnvChange, type TokenWriter } from "../tds/tokens.js";
import { PRODUCT_NAME, PRODUCT_VERSION } from "./instance.js";
import type { TsqlSession } from "./tsql_session.js";

export const LANGUAGE = "us_english";

export function writeLoginResponse(tokens: TokenWriter, session: TsqlSession, packetBytes: number,
  serverName: string): void {
  tokens.envChangeString(EnvChange.DATABASE, session.databaseName, "master");
  tokens.info(infoToken(new SqlError("DATABASE_CONTEXT_CHANGED", [session.databaseName]), serverName));
  tokens.envChangeBytes(EnvChange.COLLATION, COLLATION_LATIN1_CI_AS, Buffer.alloc(0));
  tokens.envChangeString(EnvChange.LANGUAGE, LANGUAGE, "");
  tokens.info(infoToken(new SqlError("LANGUAGE_CHANGED", [LANGUAGE]), serverName));
  // A principal names its mirroring partner, where clients go after a failover ("host,port").
  const partner = session.instance.mirroring.session(session.databaseName)?.partnerTdsAddress ?? null;
  if (partner !== null) tokens.envChangeString(EnvChange.MIRROR_PARTNER, partner.replace(/:(\d+)$/, ",$1"), "");
  tokens.loginAck(PRODUCT_NAME, PRODUCT_VERSION);
  tokens.envChangeString(EnvChange.PACKET_SIZE, String(packetBytes), String(packetBytes));
  tokens.done(DoneStatus.FINAL, 0, 0);
}

export function infoToken(error: SqlError, serverName: string, line = 1): Parameters<TokenWriter["info"]>[0] {
  return { number: error.number, state: error.state, severity: error.severity, text: error.message,
    serverName, procName: "", line };
}
