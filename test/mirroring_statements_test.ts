// The ALTER DATABASE … SET PARTNER / SET WITNESS parser (src/tsql/mirroring_statements.ts):
// every form of spec/mirroring.md §3.10 and §6, the address check behind 1449, and each
// refusal with its error number: 102/156 syntax, 40517 unsupported.

import { assertThrowsSql } from "./support/sql_errors.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBatch } from "../src/tsql/parser.js";
import {
  parseMirroringOption, partnerAddressProblem, type MirroringCommand,
} from "../src/tsql/mirroring_statements.js";
import type { AlterDatabaseOther } from "../src/tsql/statements.js";

/** The first statement of `sql`, which must be ALTER DATABASE … SET <other option>, parsed. */
function parse(sql: string): MirroringCommand {
  const statements = parseBatch(sql);
  assert.equal(statements[0]!.kind, "alterDatabaseOther", sql);
  return parseMirroringOption(statements[0] as AlterDatabaseOther);
}

/** Asserts that parsing `sql` throws SqlError `number` (and `message`, `line` if given). */
function assertError(sql: string, number: number, message?: string, line?: number): void {
  assertThrowsSql(() => parse(sql), sql, number, message, line);
}

const near = (text: string): string => `Incorrect syntax near '${text}'.`;
const nearKeyword = (text: string): string => `Incorrect syntax near the keyword '${text}'.`;

// ---------------------------------------------------------------------------------------
// Every form

test("SET PARTNER = 'TCP://host:port' (§6.4, §3.10)", () => {
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET PARTNER = 'TCP://PARTNERHOST1:7022'"), {
    kind: "setPartner", database: "AdventureWorks", address: "TCP://PARTNERHOST1:7022", addressProblem: null, line: 1,
  });
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET PARTNER = 'TCP://PARTNERHOST1.COM:7022'"), {
    kind: "setPartner", database: "AdventureWorks", address: "TCP://PARTNERHOST1.COM:7022", addressProblem: null, line: 1,
  });
  const fqdn = "TCP://HOST_A.Mydomain.Corp.Adventure-Works.com:7024";
  const command = parse(`ALTER DATABASE AdventureWorks SET PARTNER = '${fqdn}';`);
  assert.equal(command.kind, "setPartner");
  assert.equal((command as { address: string }).address, fqdn);
});

test("SET PARTNER = N'…', lower-case scheme, [quoted] name, spread over lines", () => {
  assert.deepEqual(parse("alter database [Adventure Works]\n  set partner =\n  N'tcp://10.193.9.134:7023'"), {
    kind: "setPartner", database: "Adventure Works", address: "tcp://10.193.9.134:7023", addressProblem: null, line: 1,
  });
});

test("SET PARTNER with an IPv6 address in brackets", () => {
  assert.deepEqual(parse("ALTER DATABASE db SET PARTNER = 'TCP://[2001:4898:23:1002:20f:1fff:feff:b3a3]:7022'"), {
    kind: "setPartner", database: "db", address: "TCP://[2001:4898:23:1002:20f:1fff:feff:b3a3]:7022",
    addressProblem: null, line: 1,
  });
});

test("SET PARTNER FAILOVER / FORCE_SERVICE_ALLOW_DATA_LOSS / OFF / RESUME / SUSPEND", () => {
  const cases: ReadonlyArray<readonly [string, MirroringCommand["kind"]]> = [
    ["FAILOVER", "partnerFailover"],
    ["FORCE_SERVICE_ALLOW_DATA_LOSS", "partnerForceService"],
    ["OFF", "partnerOff"],
    ["RESUME", "partnerResume"],
    ["SUSPEND", "partnerSuspend"],
  ];
  for (const [word, kind] of cases) {
    assert.deepEqual(parse(`ALTER DATABASE AdventureWorks2012 SET PARTNER ${word};`),
      { kind, database: "AdventureWorks2012", line: 1 });
    assert.deepEqual(parse(`alter database AdventureWorks2012 set partner ${word.toLowerCase()}`),
      { kind, database: "AdventureWorks2012", line: 1 });
  }
});

test("ALTER DATABASE CURRENT: database null", () => {
  assert.deepEqual(parse("ALTER DATABASE CURRENT SET PARTNER SUSPEND"), { kind: "partnerSuspend", database: null, line: 1 });
  assert.deepEqual(parse("ALTER DATABASE CURRENT SET WITNESS OFF"), { kind: "witnessOff", database: null, line: 1 });
});

test("SET PARTNER SAFETY FULL / OFF", () => {
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET PARTNER SAFETY OFF"),
    { kind: "partnerSafety", database: "AdventureWorks", level: "OFF", line: 1 });
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET PARTNER SAFETY full"),
    { kind: "partnerSafety", database: "AdventureWorks", level: "FULL", line: 1 });
});

test("SET PARTNER TIMEOUT n: any int, range checks left to the executor", () => {
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET PARTNER TIMEOUT 30"),
    { kind: "partnerTimeout", database: "AdventureWorks", seconds: 30, line: 1 });
  assert.equal((parse("ALTER DATABASE d SET PARTNER TIMEOUT 20") as { seconds: number }).seconds, 20);
  assert.equal((parse("ALTER DATABASE d SET PARTNER TIMEOUT 0") as { seconds: number }).seconds, 0);
  assert.equal((parse("ALTER DATABASE d SET PARTNER TIMEOUT 40000") as { seconds: number }).seconds, 40000);
  assert.equal((parse("ALTER DATABASE d SET PARTNER TIMEOUT 2147483647") as { seconds: number }).seconds, 2147483647);
});

test("SET WITNESS = '…' / SET WITNESS OFF", () => {
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET WITNESS = 'TCP://WITNESSHOST4:7022'"), {
    kind: "setWitness", database: "AdventureWorks", address: "TCP://WITNESSHOST4:7022", addressProblem: null, line: 1,
  });
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks SET WITNESS = N'TCP://WITNESSHOST4.COM:7022'"), {
    kind: "setWitness", database: "AdventureWorks", address: "TCP://WITNESSHOST4.COM:7022", addressProblem: null, line: 1,
  });
  assert.deepEqual(parse("ALTER DATABASE AdventureWorks2012 SET WITNESS OFF ;"),
    { kind: "witnessOff", database: "AdventureWorks2012", line: 1 });
});

test("the statement line is the batch line of ALTER", () => {
  const statements = parseBatch("SELECT 1\n\nALTER DATABASE d\nSET PARTNER OFF");
  const second = parseMirroringOption(statements[1] as AlterDatabaseOther);
  assert.deepEqual(second, { kind: "partnerOff", database: "d", line: 3 });
});

// ---------------------------------------------------------------------------------------
// Invalid addresses: a command with addressProblem (1449 at run time), not a parse error

test("invalid partner and witness addresses carry addressProblem", () => {
  const invalid = [
    "TCP://PARTNERHOST1",                // no port
    "TCP://PARTNERHOST1:",               // empty port
    "HTTP://PARTNERHOST1:7022",          // bad scheme
    "PARTNERHOST1:7022",                 // no scheme
    "TCP://PARTNERHOST1:0",              // port 0
    "TCP://PARTNERHOST1:65536",          // port too large
    "TCP://PARTNERHOST1:7022/mirror",    // trailing path
    "TCP://PARTNERHOST1:7022 ",          // trailing space
    "TCP://HOST\\INST:7022",             // instance name
    "TCP://2001:4898::1:7022",           // IPv6 without brackets
    "TCP://[not-ipv6]:7022",
    "TCP://10.0.0.256:7022",
    "",
  ];
  for (const address of invalid) {
    const quoted = address.replace(/'/g, "''");
    const partner = parse(`ALTER DATABASE d SET PARTNER = '${quoted}'`);
    assert.equal(partner.kind, "setPartner");
    const problem = (partner as { addressProblem: string | null }).addressProblem;
    assert.equal(typeof problem, "string", address);
    assert.equal(problem, partnerAddressProblem(address));
    const witness = parse(`ALTER DATABASE d SET WITNESS = '${quoted}'`);
    assert.equal((witness as { addressProblem: string | null }).addressProblem, problem);
  }
});

test("partnerAddressProblem accepts every §6.5 form", () => {
  for (const address of [
    "tcp://SYSTEM46:7022", "tcp://DBSERVER8.manufacturing.Adventure-Works.com:7024",
    "tcp://10.193.9.134:7023", "TCP://[2001:4898:23:1002:20f:1fff:feff:b3a3]:7022",
    "TCP://[::1]:5022", "Tcp://host:1", "TCP://host:65535",
  ]) {
    assert.equal(partnerAddressProblem(address), null, address);
  }
});

// ---------------------------------------------------------------------------------------
// Refusals

test("other SET options: 40517", () => {
  assertError("ALTER DATABASE d SET READ_ONLY", 40517,
    "Keyword or statement option 'ALTER DATABASE SET READ_ONLY' is not supported in this version of SQL Server.");
  assertError("ALTER DATABASE d SET HADR OFF", 40517);
});

test("SET PARTNER / SET WITNESS alone: syntax error near the option word", () => {
  assertError("ALTER DATABASE d SET PARTNER", 102, near("PARTNER"), 1);
  assertError("ALTER DATABASE d\n SET\n partner;", 102, near("partner"), 3);
  assertError("ALTER DATABASE d SET WITNESS", 102, near("WITNESS"));
});

test("incomplete forms: syntax error near the last word", () => {
  assertError("ALTER DATABASE d SET PARTNER =", 102, near("="));
  assertError("ALTER DATABASE d SET PARTNER SAFETY", 102, near("SAFETY"));
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT", 102, near("TIMEOUT"));
  assertError("ALTER DATABASE d SET WITNESS =", 102, near("="));
});

test("wrong words and values: 102/156 near them", () => {
  assertError("ALTER DATABASE d SET PARTNER SAFETY ON", 156, nearKeyword("ON"));
  assertError("ALTER DATABASE d SET PARTNER SAFETY HIGH", 102, near("HIGH"));
  assertError("ALTER DATABASE d SET PARTNER PAUSE", 102, near("PAUSE"));
  assertError("ALTER DATABASE d SET PARTNER 'TCP://h:7022'", 102, near("'TCP://h:7022'"));
  assertError("ALTER DATABASE d SET PARTNER = TCP", 102, near("TCP"));
  assertError("ALTER DATABASE d SET PARTNER = 7022", 102, near("7022"));
  assertError("ALTER DATABASE d SET WITNESS FAILOVER", 102, near("FAILOVER"));
  assertError("ALTER DATABASE d SET WITNESS SUSPEND", 102, near("SUSPEND"));
  assertError("ALTER DATABASE d SET WITNESS SAFETY FULL", 102, near("SAFETY"));
});

test("TIMEOUT must be an int literal: negative, fraction, overflow are syntax errors", () => {
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT -5", 102, near("-"));
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT 2147483648", 102, near("2147483648"));
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT 10.5", 102, near("10.5"));
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT '10'", 102, near("'10'"));
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT ten", 102, near("ten"));
});

test("variables: 40517", () => {
  assertError("ALTER DATABASE d SET PARTNER = @partner", 40517);
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT @t", 40517);
});

test("anything after a complete form: syntax error near it", () => {
  assertError("ALTER DATABASE d SET PARTNER OFF extra", 102, near("extra"));
  assertError("ALTER DATABASE d SET PARTNER SAFETY FULL OFF", 156, nearKeyword("OFF"));
  assertError("ALTER DATABASE d SET PARTNER TIMEOUT 10 SECONDS", 102, near("SECONDS"));
  assertError("ALTER DATABASE d SET PARTNER = 'TCP://h:7022', WITNESS = 'TCP://w:7022'", 102, near(","));
  assertError("ALTER DATABASE d SET WITNESS OFF\n  now", 102, near("now"), 2);
});

test("WITH termination clauses are not allowed with PARTNER / WITNESS: 156 near WITH", () => {
  assertError("ALTER DATABASE d SET PARTNER OFF WITH ROLLBACK IMMEDIATE", 156, nearKeyword("WITH"));
  assertError("ALTER DATABASE d SET PARTNER SAFETY OFF WITH NO_WAIT", 156, nearKeyword("WITH"));
  assertError("ALTER DATABASE d SET WITNESS = 'TCP://w:7022' WITH ROLLBACK AFTER 10", 156, nearKeyword("WITH"));
  assertError("ALTER DATABASE d SET WITNESS OFF WITH NO_WAIT", 156, nearKeyword("WITH"));
});
