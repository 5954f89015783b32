// Mirroring DMVs (spec/mirroring.md §4.4, §4.6): sys.dm_os_performance_counters with the
// 'SQLServer:Database Mirroring' object (one instance per mirrored database, plus _Total), and
// sys.dm_db_mirroring_connections (one row per live session channel). Projections of the live
// PartnerSession and its MirroringChannel; nothing here changes them. Both need VIEW SERVER STATE
// in SQL Server: here, only sysadmin sessions see rows.
//
// Counter semantics are SQL Server's: the "/sec" counters (cntr_type 272696576,
// PERF_COUNTER_BULK_COUNT) are cumulative, so a rate is the difference of two samples divided by
// the seconds between them; the "KB" counters (cntr_type 65792, PERF_COUNTER_LARGE_RAWCOUNT) are
// current values. Counters that do not apply to the database's current role read 0.
import { randomUUID } from "node:crypto";
import type { MirroringChannel } from "../endpoint/transport.js";
import type { PartnerSession } from "../mirroring/runtime/partner_session.js";
import type { Instance } from "./instance.js";
import type { ViewContext } from "./security_views.js";

interface MirroringView {
  readonly columns: string;
  readonly rows: (instance: Instance, context: ViewContext) => unknown[][];
}

export const MIRRORING_COUNTER_OBJECT = "SQLServer:Database Mirroring";
/** PERF_COUNTER_LARGE_RAWCOUNT: the value as it stands. */
const RAW = 65792;
/** PERF_COUNTER_BULK_COUNT: cumulative; rate = Δvalue / Δseconds. */
const PER_SEC = 272696576;

interface Counter {
  readonly name: string;
  readonly type: number;
  readonly value: (session: PartnerSession) => number;
}

/**
 * What each counter reads from the session, in SQL Server's order. The channel's counters
 * (Bytes …, Receives, Sends) start again with each connection, the shipper's (Log Bytes …) with
 * each time the database takes the principal role; the mirror's Redo Queue KB is its own, the
 * principal's the mirror's last report.
 */
const COUNTERS: readonly Counter[] = [
  { name: "Bytes Received/sec", type: PER_SEC, value: (s) => s.connection?.traffic.bytesReceived ?? 0 },
  { name: "Bytes Sent/sec", type: PER_SEC, value: (s) => s.connection?.traffic.bytesSent ?? 0 },
  // Record bytes the shipper sent (before page deltas and deflate) and what they took on the wire.
  { name: "Log Bytes Sent/sec", type: PER_SEC, value: (s) => s.shipperCounters?.logBytesSent ?? 0 },
  { name: "Log Compressed Bytes Sent/sec", type: PER_SEC, value: (s) => s.shipperCounters?.wireBytesSent ?? 0 },
  { name: "Log Send Queue KB", type: RAW, value: (s) => Math.ceil(s.unsentBytes / 1024) },
  { name: "Mirrored Write Transactions/sec", type: PER_SEC, value: (s) => s.counters.mirroredTransactions },
  { name: "Receives/sec", type: PER_SEC, value: (s) => s.connection?.traffic.receives ?? 0 },
  { name: "Redo Queue KB", type: RAW, value: (s) => s.redoQueueKb },
  { name: "Sends/sec", type: PER_SEC, value: (s) => s.connection?.traffic.framesSent ?? 0 },
  // Milliseconds commits waited for the mirror's acknowledgement, summed (divide its delta by
  // the delta of Mirrored Write Transactions/sec for the delay per transaction).
  { name: "Transaction Delay", type: PER_SEC, value: (s) => s.counters.transactionDelayMs },
];

/** Every database with a mirroring session (principal or mirror), by its catalog name. */
function sessions(instance: Instance): { name: string; session: PartnerSession }[] {
  return instance.catalog.databases().flatMap((entry) => {
    const session = instance.mirroring.session(entry.name);
    return session === null ? [] : [{ name: entry.name, session }];
  });
}

function performanceCounterRows(instance: Instance, context: ViewContext): unknown[][] {
  if (!context.sysadmin) return [];
  const live = sessions(instance);
  const rows: unknown[][] = [];
  const totals = COUNTERS.map(() => 0);
  for (const { name, session } of live) {
    COUNTERS.forEach((counter, i) => {
      const value = counter.value(session);
      totals[i]! += value;
      rows.push([MIRRORING_COUNTER_OBJECT, counter.name, name, value, counter.type]);
    });
  }
  if (live.length > 0) {
    COUNTERS.forEach((counter, i) => rows.push([MIRRORING_COUNTER_OBJECT, counter.name, "_Total", totals[i], counter.type]));
  }
  return rows;
}

/** A channel's identifiers, made when the view first sees it and kept while it lives. */
const channelIds = new WeakMap<MirroringChannel, { connectionId: string; transportStreamId: string }>();

function idsOf(channel: MirroringChannel): { connectionId: string; transportStreamId: string } {
  let ids = channelIds.get(channel);
  if (ids === undefined) {
    ids = { connectionId: randomUUID().toUpperCase(), transportStreamId: randomUUID().toUpperCase() };
    channelIds.set(channel, ids);
  }
  return ids;
}

function datetime(ms: number | Date): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** encryption_algorithm of a live connection: what the endpoints agreed (spec §4.3 codes). */
function encryption(channel: MirroringChannel): [number, string] {
  if (!channel.encrypted || channel.algorithm === null) return [0, "NONE"];
  return channel.algorithm === "AES" ? [2, "AES"] : [1, "RC4"];
}

function connectionRows(instance: Instance, context: ViewContext): unknown[][] {
  if (!context.sysadmin) return [];
  const seen = new Set<MirroringChannel>();
  const rows: unknown[][] = [];
  for (const { session } of sessions(instance)) {
    const channel = session.connection;
    if (channel === null || channel.closed || seen.has(channel)) continue;
    seen.add(channel);
    const ids = idsOf(channel);
    const [algorithm, algorithmDesc] = encryption(channel);
    const certificate = instance.catalog.certificate(channel.peerCertificateName);
    const traffic = channel.traffic;
    rows.push([
      ids.connectionId, ids.transportStreamId, 3, "CONNECTED",
      // The channel exists once the handshake (the login) completed: both times are its creation.
      datetime(channel.connectTime), datetime(channel.connectTime), "CERTIFICATE", channel.peerLogin,
      datetime(traffic.lastActivityMs), channel.role === "acceptor" ? 1 : 0, 12, "ONLINE",
      certificate?.id ?? null, algorithm, algorithmDesc,
      traffic.bytesSent, traffic.bytesReceived, traffic.framesSent, traffic.framesReceived,
      traffic.framesSent, traffic.receives,
    ]);
  }
  return rows;
}

export const MIRRORING_VIEWS: Record<string, MirroringView> = {
  dm_os_performance_counters: {
    columns: `object_name NCHAR(128), counter_name NCHAR(128), instance_name NCHAR(128), cntr_value BIGINT,
      cntr_type INT`,
    rows: performanceCounterRows,
  },
  dm_db_mirroring_connections: {
    columns: `connection_id UNIQUEIDENTIFIER, transport_stream_id UNIQUEIDENTIFIER, state SMALLINT,
      state_desc NVARCHAR(60), connect_time DATETIME, login_time DATETIME, authentication_method NVARCHAR(128),
      principal_name NVARCHAR(128), last_activity_time DATETIME, is_accept BIT, login_state SMALLINT,
      login_state_desc NVARCHAR(60), peer_certificate_id INT, encryption_algorithm SMALLINT,
      encryption_algorithm_desc NVARCHAR(60), total_bytes_sent BIGINT, total_bytes_received BIGINT,
      total_fragments_sent BIGINT, total_fragments_received BIGINT, total_sends BIGINT, total_receives BIGINT`,
    rows: connectionRows,
  },
};
