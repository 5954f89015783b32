// Growable little-endian byte sink. Filled chunks are kept in a list and joined once by take(),
// so writing n bytes costs O(n) however the writes are split (no copy-on-grow).
import { assert } from "../util/assert.js";

const CHUNK_BYTES = 16 * 1024;
/** Most responses are a DONE token or a few rows: start small (from Node's pool), then grow. */
const FIRST_CHUNK_BYTES = 256;

export class ByteWriter {
  private chunks: Buffer[] = [];
  private chunksBytes = 0;
  private current = Buffer.allocUnsafe(FIRST_CHUNK_BYTES);
  private position = 0;

  get byteLength(): number {
    return this.chunksBytes + this.position;
  }

  /** Everything written so far; the writer starts empty again. */
  take(): Buffer {
    const tail = Buffer.from(this.current.subarray(0, this.position));
    const all = this.chunks.length === 0 ? tail :
      Buffer.concat([...this.chunks, tail], this.chunksBytes + tail.length);
    this.chunks = [];
    this.chunksBytes = 0;
    this.position = 0;
    return all;
  }

  /** Makes room for `bytes` contiguous bytes in the current chunk. */
  private reserve(bytes: number): void {
    if (this.position + bytes <= this.current.length) return;
    if (this.position > 0) {
      this.chunks.push(this.current.subarray(0, this.position));
      this.chunksBytes += this.position;
    }
    this.current = Buffer.allocUnsafe(Math.max(Math.min(CHUNK_BYTES, this.current.length * 4), bytes));
    this.position = 0;
  }

  u8(value: number): void {
    this.reserve(1);
    this.current[this.position] = value;
    this.position += 1;
  }

  u16(value: number): void {
    this.reserve(2);
    this.position = this.current.writeUInt16LE(value, this.position);
  }

  u32(value: number): void {
    this.reserve(4);
    this.position = this.current.writeUInt32LE(value, this.position);
  }

  u32be(value: number): void {
    this.reserve(4);
    this.position = this.current.writeUInt32BE(value, this.position);
  }

  i32(value: number): void {
    this.reserve(4);
    this.position = this.current.writeInt32LE(value, this.position);
  }

  u64(value: bigint): void {
    this.reserve(8);
    this.position = this.current.writeBigUInt64LE(value, this.position);
  }

  i64(value: bigint): void {
    this.reserve(8);
    this.position = this.current.writeBigInt64LE(value, this.position);
  }

  f32(value: number): void {
    this.reserve(4);
    this.position = this.current.writeFloatLE(value, this.position);
  }

  f64(value: number): void {
    this.reserve(8);
    this.position = this.current.writeDoubleLE(value, this.position);
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.current.set(data, this.position);
    this.position += data.length;
  }

  /** UTF-16LE code units as they are (lone surrogates included), no length prefix. */
  utf16(text: string): void {
    this.reserve(text.length * 2);
    const written = this.current.write(text, this.position, "utf16le");
    assert(written === text.length * 2, "utf16le writes two bytes per code unit");
    this.position += written;
  }
}
