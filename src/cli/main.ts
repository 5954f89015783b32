#!/usr/bin/env node
// mirrorlite's command line (DESIGN.md §6): argument parsing and output only.
import { runDemo } from "./demo.js";
import { runEndpointCheck } from "./endpoint_check.js";
import { runSql } from "./sql.js";
import { runStart } from "./start.js";

const USAGE = `usage:
  mirrorlite start --data DIR [--name INSTANCE] [--port 1433] [--listen 0.0.0.0] [--sa-password P]
  mirrorlite sql -S host[,port] -U login -P password [-d db] (-Q "batch" | -i file.sql...) [-b]
      and the other sqlcmd options: mirrorlite sql -? lists them
  mirrorlite endpoint-check TCP://host:port -S host[,port] -U login -P password
  mirrorlite demo [--connections 8] [--seconds 6] [--keep]
      two instances on loopback mirror a database, a workload, a manual failover, a verdict
`;

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case "start": await runStart(args); break;
  case "sql": process.exitCode = await runSql(args); break;
  case "endpoint-check": process.exitCode = await runEndpointCheck(args); break;
  case "demo": process.exitCode = await runDemo(args); break;
  default:
    process.stderr.write(USAGE);
    process.exitCode = command === undefined || command === "help" || command === "--help" ? 0 : 2;
}
