// `mirrorlite endpoint-check TCP://host:port -S instance -U login -P password`: asks the local
// instance (over TDS) to connect to a partner's mirroring endpoint as SET PARTNER would, and
// prints each step; the first failed step says exactly what is wrong (where SQL Server itself
// only ever reports 1418). Exit code 0 when every step passed, 1 otherwise.
import { Connection, Request } from "tedious";
import { connectionConfig, parseServer } from "./sql.js";
import { parseSqlcmdArgs } from "./sqlcmd_args.js";

export const ENDPOINT_CHECK_USAGE = `usage: mirrorlite endpoint-check TCP://host:port -S host[,port] -U login -P password
  Runs EXEC sp_mirrorlite_endpoint_check on the instance given by -S, which connects from its
  DATABASE_MIRRORING endpoint to the endpoint at TCP://host:port.
`;

interface Step { step: string; ok: boolean; detail: string }

export async function runEndpointCheck(args: string[]): Promise<number> {
  process.noDeprecation = true;
  const [address, ...rest] = args;
  const parsed = parseSqlcmdArgs(rest, process.env);
  if (address === undefined || !/^tcp:\/\//i.test(address) || "error" in parsed) {
    process.stderr.write("error" in parsed ? `${parsed.error}\n${ENDPOINT_CHECK_USAGE}` : ENDPOINT_CHECK_USAGE);
    return 2;
  }
  const target = parseServer(parsed.server);
  if (typeof target === "string") {
    process.stderr.write(`${target}\n`);
    return 2;
  }
  try {
    const steps = await runCheck(new Connection(connectionConfig(parsed, target)), address);
    for (const step of steps) process.stdout.write(`${step.ok ? "ok    " : "FAILED"} ${step.step}: ${step.detail}\n`);
    return steps.length > 0 && steps.every((step) => step.ok) ? 0 : 1;
  } catch (error) {
    process.stderr.write(`mirrorlite endpoint-check: ${(error as Error).message}\n`);
    return 1;
  }
}

function runCheck(connection: Connection, address: string): Promise<Step[]> {
  return new Promise((resolve, reject) => {
    connection.on("error", reject);
    connection.connect((error) => {
      if (error) return reject(error);
      const steps: Step[] = [];
      const sql = `EXEC sp_mirrorlite_endpoint_check N'${address.replace(/'/g, "''")}'`;
      const request = new Request(sql, (failure) => {
        connection.close();
        if (failure) reject(failure);
        else resolve(steps);
      });
      request.on("row", (columns: { value: unknown }[]) => {
        steps.push({ step: String(columns[0]!.value), ok: columns[1]!.value === true, detail: String(columns[2]!.value) });
      });
      connection.execSqlBatch(request);
    });
  });
}
