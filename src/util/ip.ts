// IP address syntax checks for pure modules (T-SQL parsing, endpoint addresses, certificates),
// which import no sockets: the same answers as node:net's isIPv4 / isIPv6, without node:net.

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** The WHATWG URL parser validates bracketed IPv6 hosts. Zone ids (fe80::1%eth0) are refused. */
export function isIPv6(text: string): boolean {
  if (!text.includes(":") || /[^0-9A-Fa-f:.]/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}
