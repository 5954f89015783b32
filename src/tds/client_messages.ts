// The client side of the few requests our own tools send without a driver: a LOGIN7 and a SQL
// batch (MS-TDS 2.2.6.4, 2.2.6.7). Used by the bench's lean load generator and by tests that
// must send a valid login before sending something broken.

const LOGIN7_FIXED_BYTES = 94;
const TDS_7_4 = 0x74000004;

export interface Login7Request {
  readonly userName: string;
  readonly password: string;
  readonly database?: string;
  readonly hostName?: string;
  readonly appName?: string;
  readonly packetSize?: number;
}

/** A LOGIN7 payload: SQL authentication, UTF-16LE strings, the password scrambled. */
export function buildLogin7(request: Login7Request): Buffer {
  // Offset slots in order: HostName, UserName, Password, AppName, ServerName, Extension,
  // CltIntName, Language, Database.
  const fields = [request.hostName ?? "localhost", request.userName, request.password,
    request.appName ?? "mirrorlite", "", "", "mirrorlite", "", request.database ?? ""];
  const fixed = Buffer.alloc(LOGIN7_FIXED_BYTES);
  const data: Buffer[] = [];
  let offset = LOGIN7_FIXED_BYTES;
  fields.forEach((text, i) => {
    const bytes = i === 2 ? scramble(Buffer.from(text, "utf16le")) : Buffer.from(text, "utf16le");
    fixed.writeUInt16LE(offset, 36 + i * 4);
    fixed.writeUInt16LE(text.length, 38 + i * 4);
    data.push(bytes);
    offset += bytes.length;
  });
  // SSPI, AtchDBFile and ChangePassword: empty, pointing at the end.
  for (const slot of [78, 82, 86]) fixed.writeUInt16LE(offset, slot);
  fixed.writeUInt32LE(TDS_7_4, 4);
  fixed.writeUInt32LE(request.packetSize ?? 4096, 8);
  const payload = Buffer.concat([fixed, ...data]);
  payload.writeUInt32LE(payload.length, 0);
  return payload;
}

/** A SQL batch payload: ALL_HEADERS with a transaction descriptor header, then UTF-16LE text. */
export function buildSqlBatch(sql: string, transactionDescriptor: Buffer = Buffer.alloc(8)): Buffer {
  const headers = Buffer.alloc(22);
  headers.writeUInt32LE(22, 0);
  headers.writeUInt32LE(18, 4);
  headers.writeUInt16LE(2, 8);
  transactionDescriptor.copy(headers, 10, 0, 8);
  headers.writeUInt32LE(1, 18);
  return Buffer.concat([headers, Buffer.from(sql, "utf16le")]);
}

/** The client's password obfuscation: swap nibbles, then XOR 0xA5. */
function scramble(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => ((((b << 4) & 0xf0) | (b >> 4)) ^ 0xa5) & 0xff));
}
