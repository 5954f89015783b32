// sys.database_mirroring as a projection of the session state (spec/mirroring.md §4.1): the
// codes in SessionState are SQL Server's, so each column is read, never translated. A database
// without a session (not mirrored), or not ONLINE and not a mirror, shows NULL in every column
// but database_id, as SQL Server does. Pure.
import { mirroringRoleDesc, mirroringStateDesc, safetyLevelDesc, witnessStateDesc } from "./codes.js";
import type { SessionState } from "./session_types.js";

export const DATABASE_MIRRORING_COLUMNS = `database_id INT, mirroring_guid UNIQUEIDENTIFIER,
  mirroring_state TINYINT, mirroring_state_desc NVARCHAR(60), mirroring_role TINYINT,
  mirroring_role_desc NVARCHAR(60), mirroring_role_sequence INT, mirroring_safety_level TINYINT,
  mirroring_safety_level_desc NVARCHAR(60), mirroring_safety_sequence INT,
  mirroring_partner_name NVARCHAR(128), mirroring_partner_instance NVARCHAR(128),
  mirroring_witness_name NVARCHAR(128), mirroring_witness_state TINYINT,
  mirroring_witness_state_desc NVARCHAR(60), mirroring_failover_lsn NUMERIC(25,0),
  mirroring_connection_timeout INT, mirroring_redo_queue INT, mirroring_redo_queue_type NVARCHAR(60),
  mirroring_end_of_log_lsn NUMERIC(25,0), mirroring_replication_lsn NUMERIC(25,0)`;

const COLUMN_COUNT = 21;

/** One row; `partnerInstance` is the partner's instance name learned in the handshake. */
export function databaseMirroringRow(databaseId: number, session: SessionState | null,
  partnerInstance: string | null = null): unknown[] {
  if (session === null || session.role === null || session.state === null) {
    return [databaseId, ...new Array<null>(COLUMN_COUNT - 1).fill(null)];
  }
  const endOfLog = session.role === 1 ? session.localDurableLsn : session.hardenedLsn;
  return [
    databaseId, session.mirroringGuid, session.state, mirroringStateDesc[session.state],
    session.role, mirroringRoleDesc[session.role], session.roleSequence,
    session.safety, safetyLevelDesc[session.safety], session.safetySequence,
    session.partnerAddress, partnerInstance, session.witnessAddress,
    session.witnessState, session.witnessState === null ? null : witnessStateDesc[session.witnessState],
    session.failoverLsn, session.timeoutSeconds, null, "UNLIMITED", endOfLog, endOfLog,
  ];
}
