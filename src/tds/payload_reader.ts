// Bounds-checked cursor over a client payload. Every read checks the remaining length first and
// throws ProtocolViolation (with the parser's reason code and the field name), so hostile input
// can never surface as a RangeError from Buffer.
import { ProtocolViolation } from "./packet.js";

export class PayloadReader {
  offset: number;

  constructor(readonly data: Buffer, private readonly reason: string, offset = 0) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  fail(message: string): never {
    throw new ProtocolViolation(this.reason, message);
  }

  /** Throws unless `count` more bytes exist; `field` names what was being read. */
  need(count: number, field: string): void {
    if (count > this.remaining) {
      this.fail(`${field}: needs ${count} bytes at offset ${this.offset}, ` +
        `only ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    const value = this.data[this.offset]!;
    this.offset += 1;
    return value;
  }

  u16le(field: string): number {
    this.need(2, field);
    const value = this.data.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  u32le(field: string): number {
    this.need(4, field);
    const value = this.data.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A copy, so the result does not pin the whole message buffer. */
  bytes(count: number, field: string): Buffer {
    this.need(count, field);
    const value = Buffer.from(this.data.subarray(this.offset, this.offset + count));
    this.offset += count;
    return value;
  }

  /** B_VARCHAR: u8 count of UTF-16 code units, then UTF-16LE. */
  bVarchar(field: string): string {
    const chars = this.u8(`${field} length`);
    return this.utf16(chars * 2, field);
  }

  /** u8 count of BYTES, then UTF-16LE: how tedious and SqlClient send TM transaction names. */
  byteCountedUtf16(field: string): string {
    const bytes = this.u8(`${field} length`);
    if (bytes % 2 !== 0) this.fail(`${field}: odd byte length ${bytes} for UTF-16`);
    return this.utf16(bytes, field);
  }

  utf16(byteCount: number, field: string): string {
    this.need(byteCount, field);
    const value = this.data.toString("utf16le", this.offset, this.offset + byteCount);
    this.offset += byteCount;
    return value;
  }
}
