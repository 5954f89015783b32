// Log segment files: a fixed header, then records back to back (8-byte aligned), then zeros up
// to the preallocated size. Records never span segments. Pure: no I/O.
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.js";
import { RECORD_BODY_BYTES_MAX, RECORD_HEADER_BYTES, alignUp } from "./record.js";

export const SEGMENT_MAGIC = 0x4745534d; // "MSEG"
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 64;
/** A segment must hold at least two of the largest records, so rollover always makes progress. */
export const SEGMENT_BYTES_MIN = SEGMENT_HEADER_BYTES + 2 * alignUp(RECORD_HEADER_BYTES
  + RECORD_BODY_BYTES_MAX);

export interface SegmentHeader {
  readonly segmentNo: number;
  readonly segmentBytes: number;
}

export function segmentFileName(segmentNo: number): string {
  assert(Number.isInteger(segmentNo) && segmentNo >= 1, `bad segment number ${segmentNo}`);
  return `${String(segmentNo).padStart(10, "0")}.seg`;
}

/** The segment number a file name encodes, or null for files that are not segments. */
export function parseSegmentFileName(name: string): number | null {
  const match = /^(\d{10})\.seg$/.exec(name);
  return match === null ? null : Number(match[1]);
}

export function encodeSegmentHeader(header: SegmentHeader): Buffer {
  assert(header.segmentBytes >= SEGMENT_BYTES_MIN, `segment of ${header.segmentBytes} bytes too small`);
  const out = Buffer.alloc(SEGMENT_HEADER_BYTES);
  out.writeUInt32LE(SEGMENT_MAGIC, 0);
  out.writeUInt16LE(SEGMENT_VERSION, 4);
  out.writeUInt32LE(header.segmentNo, 8);
  out.writeUInt32LE(header.segmentBytes, 12);
  out.writeUInt32LE(crc32(out.subarray(0, 60)), 60);
  return out;
}

/** The header, or a reason string when the bytes are not a valid segment header. */
export function decodeSegmentHeader(buf: Uint8Array): SegmentHeader | string {
  if (buf.length < SEGMENT_HEADER_BYTES) return "short segment header";
  const view = Buffer.from(buf.buffer, buf.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.readUInt32LE(0) !== SEGMENT_MAGIC) return "no segment magic";
  if (crc32(view.subarray(0, 60)) !== view.readUInt32LE(60)) return "segment header checksum mismatch";
  if (view.readUInt16LE(4) !== SEGMENT_VERSION) return `unknown segment version ${view.readUInt16LE(4)}`;
  const segmentBytes = view.readUInt32LE(12);
  if (segmentBytes < SEGMENT_BYTES_MIN) return `segment size ${segmentBytes} below the minimum`;
  return { segmentNo: view.readUInt32LE(8), segmentBytes };
}
