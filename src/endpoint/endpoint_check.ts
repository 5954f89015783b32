// endpointCheck: connects to a partner's endpoint the way SET PARTNER would and says exactly which
// step fails, where SQL Server itself only ever says 1418 (spec §5: "a badly configured peer just
// drops the connection, so the initiator only sees 1418"). Used by `mirrorlite endpoint-check`.
import type { SqlError } from "../errors/sql_error.js";
import type { MirroringChannel } from "./channel.js";
import { dial, type ConnectOptions, type ConnectPolicy, type DialTrace } from "./connect.js";
import type { EndpointIdentity } from "./endpoint_identity.js";
import type { HandshakeStep } from "./handshake.js";
import type { HandshakePhase } from "./handshake_rules.js";

export type EndpointCheckStepName =
  "resolve" | "tcp connect" | "hello" | "peer certificate" | "authorization" | "encryption" | "ping";

export interface EndpointCheckStep {
  readonly step: EndpointCheckStepName;
  readonly ok: boolean;
  readonly detail: string;
}

export interface EndpointCheckOptions extends ConnectOptions {
  /** Bound on the final PING round trip. Default 5 s. */
  readonly pingTimeoutMs?: number;
}

/**
 * The steps attempted, in order; the first one with ok = false is where the connection fails
 * (steps after it are not listed). Never rejects.
 */
export async function endpointCheck(address: string, identity: EndpointIdentity, policy: ConnectPolicy,
  options: EndpointCheckOptions = {}): Promise<EndpointCheckStep[]> {
  const steps: EndpointCheckStep[] = [];
  const record = (step: EndpointCheckStepName, ok: boolean, detail: string): void => {
    steps.push({ step, ok, detail });
  };
  const trace: DialTrace = {
    step: record,
    handshake: (step, phase) => traceHandshake(step, phase, record),
    ownCertificate: (error) => record("hello", false, `this endpoint's certificate cannot be used: ${describe(error)}`),
  };
  let channel: MirroringChannel;
  try {
    channel = await dial(address, identity, policy, options, trace);
  } catch (error) {
    if (!steps.some((step) => !step.ok)) record("hello", false, (error as Error).message);
    return steps;
  }
  try {
    const roundTripMs = await channel.ping(options.pingTimeoutMs ?? 5000);
    record("ping", true, `PONG after ${roundTripMs.toFixed(2)} ms`);
  } catch (error) {
    record("ping", false, (error as Error).message);
  } finally {
    channel.close("endpoint check done");
  }
  return steps;
}

type Record = (step: EndpointCheckStepName, ok: boolean, detail: string) => void;

/** Turns each handshake step of the connecting side into the check steps it decides. */
function traceHandshake(step: HandshakeStep, phase: HandshakePhase, record: Record): void {
  const outcome = step.outcome;
  switch (step.rule.decision) {
    case "send_auth": {
      record("hello", true, "the endpoint answered HELLO with HELLO_REPLY");
      const peer = step.state?.phase === "auth_sent" ? step.state.peer : null;
      if (peer !== null) {
        record("peer certificate", true, `'${peer.certificate.subjectName}' is certificate '${peer.certificateName}' `
          + `in master, valid until ${new Date(peer.certificate.notAfterMs).toISOString()}, and signed our nonce`);
      }
      return;
    }
    case "establish":
      if (outcome?.kind === "established") {
        record("authorization", true, `accepted as login '${outcome.channel.peerLogin}' with CONNECT on the endpoint`);
      }
      return;
    case "relay_refusal":
    case "abandon":
      if (outcome?.kind !== "failed") return;
      if (phase === "hello_sent" && step.rule.decision === "relay_refusal") {
        record("hello", true, "the endpoint answered HELLO with REFUSE");
      } else if (phase === "hello_sent" && step.rule.id === "initiator.hello_reply.rejected") {
        record("hello", true, "the endpoint answered HELLO with HELLO_REPLY");
      }
      record(failedStep(outcome.error, phase), false,
        detailOf(outcome.error, step.rule.decision === "relay_refusal"));
      return;
    default:
      return;
  }
}

/** Which step an error belongs to, by its number and the phase it ended. */
function failedStep(error: SqlError, phase: HandshakePhase): EndpointCheckStepName {
  switch (error.number) {
    case 28027: return "encryption";
    case 28034: return "authorization";
    case 28035: case 28036: case 28055: return "peer certificate";
    default: return phase === "auth_sent" ? "authorization" : "hello";
  }
}

function detailOf(error: SqlError, byPeer: boolean): string {
  const who = byPeer ? "the accepting endpoint refused this instance: " : "";
  return `${who}${describe(error)}`;
}

function describe(error: SqlError): string {
  return `Msg ${error.number}, Level ${error.severity}: ${error.message}`;
}
