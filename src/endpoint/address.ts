// The server network address of a mirroring endpoint, 'TCP://<system-address>:<port>'
// (spec/mirroring.md §6.5): a host name, an FQDN, an IPv4 address or an IPv6 address in
// brackets, then a port. Pure. Parsing is strict, because a typo here otherwise shows up only as
// a 1418 "can not be reached" much later.
import { isIPv4, isIPv6 } from "../util/ip.js";

export interface EndpointAddress {
  /** Host name or IP address, without brackets. */
  readonly host: string;
  readonly port: number;
}

export type AddressParse =
  | { readonly ok: true; readonly address: EndpointAddress }
  | { readonly ok: false; readonly reason: string };

/** RFC 1123 labels: letters, digits and inner hyphens, 1..63 characters each. */
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const HOST_NAME_MAX = 253;

/** Parses 'TCP://host:port' (scheme case-insensitive, as SQL Server accepts tcp:// too). */
export function parseEndpointAddress(text: string): AddressParse {
  const match = /^tcp:\/\/(\[[^\]]*\]|[^:/[\]]*):([0-9]+)$/i.exec(text);
  if (match === null) {
    return { ok: false, reason: `'${text}' is not of the form TCP://host:port (IPv6 addresses in brackets).` };
  }
  const hostPart = match[1]!;
  const portText = match[2]!;
  const port = Number(portText);
  if (portText.length > 5 || (portText.length > 1 && portText.startsWith("0")) || port < 1 || port > 65535) {
    return { ok: false, reason: `'${portText}' is not a TCP port (1 to 65535).` };
  }
  if (hostPart.startsWith("[")) {
    const inner = hostPart.slice(1, -1);
    if (!isIPv6(inner)) return { ok: false, reason: `'${inner}' is not an IPv6 address.` };
    return { ok: true, address: { host: inner, port } };
  }
  if (!isHostName(hostPart)) return { ok: false, reason: `'${hostPart}' is not a host name or IPv4 address.` };
  return { ok: true, address: { host: hostPart, port } };
}

/** The canonical text form, with IPv6 in brackets. */
export function formatEndpointAddress(address: EndpointAddress): string {
  const host = isIPv6(address.host) ? `[${address.host}]` : address.host;
  return `TCP://${host}:${address.port}`;
}

function isHostName(host: string): boolean {
  if (isIPv4(host)) return true;
  // All-numeric dotted text that is not a valid IPv4 address (e.g. 10.0.0.256) is a typo.
  if (/^[0-9.]+$/.test(host)) return false;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > HOST_NAME_MAX) return false;
  return name.split(".").every((label) => HOST_LABEL.test(label));
}
