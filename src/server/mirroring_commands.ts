// ALTER DATABASE … SET PARTNER / SET WITNESS at run time (spec/mirroring.md §2.10, §3.10): where
// each option may run, then the session machine (through MirroringService) does the rest.
import { SqlError } from "../errors/sql_error.js";
import type { MirroringCommand } from "../tsql/mirroring_statements.js";
import { MASTER_DATABASE_ID } from "../catalog/master.js";
import type { Instance } from "./instance.js";

const SYSTEM_DATABASES = new Set(["master", "model", "msdb", "tempdb"]);

export async function runMirroringCommand(instance: Instance, command: MirroringCommand,
  currentDatabase: string): Promise<void> {
  if ((command.kind === "setPartner" || command.kind === "setWitness") && command.addressProblem !== null) {
    throw new SqlError("DBM_INVALID_ADDRESS");
  }
  const name = command.database ?? currentDatabase;
  const entry = instance.catalog.database(name);
  if (entry === undefined) throw new SqlError("ALTER_DATABASE_MISSING", [name]);
  if (entry.id === MASTER_DATABASE_ID || SYSTEM_DATABASES.has(entry.name.toLowerCase())) {
    throw new SqlError("DBM_NOT_CONFIGURED", [entry.name]);
  }
  const mirroring = instance.mirroring;
  const session = mirroring.session(entry.name);
  switch (command.kind) {
    case "setPartner":
      if (session !== null) throw new SqlError("DBM_ALREADY_ENABLED", [entry.name]);
      if (instance.restoringControl(entry.id) !== null) return mirroring.setPartnerOnMirror(entry.name, command.address);
      return mirroring.setPartnerOnPrincipal(entry.name, command.address);
    case "setWitness":
    case "witnessOff":
    case "partnerForceService":
      // Witness, quorum and forced service are the next row set of the session machine.
      throw new SqlError("UNSUPPORTED_KEYWORD", [command.kind === "partnerForceService"
        ? "ALTER DATABASE SET PARTNER FORCE_SERVICE_ALLOW_DATA_LOSS" : "ALTER DATABASE SET WITNESS"]);
    default:
      break;
  }
  if (session === null) throw new SqlError("DBM_NOT_CONFIGURED", [entry.name]);
  switch (command.kind) {
    case "partnerFailover": return session.failover();
    case "partnerOff": return session.command({ kind: "off" });
    case "partnerResume": return session.command({ kind: "resume" });
    case "partnerSuspend": return session.command({ kind: "suspend" });
    case "partnerSafety": return session.command({ kind: "safety", level: command.level });
    case "partnerTimeout": return session.command({ kind: "timeout", seconds: command.seconds });
  }
}
