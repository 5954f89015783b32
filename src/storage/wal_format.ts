// SQLite's WAL file format, read side (spec/sqlite-wal.md §1). Pure: buffers in, values out.
// A frame is valid only when its salts match the header, its page number is not 0, and the
// cumulative checksum chain from the header through every earlier frame matches.

export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;
const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
const WAL_FORMAT_VERSION = 3007000;

export interface WalHeader {
  /** Checksum words are read big-endian (magic ...83) or little-endian (...82). */
  readonly bigEndianChecksum: boolean;
  readonly pageSize: number;
  readonly checkpointSequence: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checksum1: number;
  readonly checksum2: number;
}

export interface FrameHeader {
  readonly pgno: number;
  /** Database size in pages after the commit for a commit frame; 0 otherwise. */
  readonly commitSizePages: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checksum1: number;
  readonly checksum2: number;
}

/** Returns the header, or null when the 32 bytes are not a valid, self-consistent WAL header. */
export function parseWalHeader(buf: Uint8Array): WalHeader | null {
  if (buf.length < WAL_HEADER_BYTES) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, WAL_HEADER_BYTES);
  const magic = view.getUint32(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return null;
  if (view.getUint32(4) !== WAL_FORMAT_VERSION) return null;
  const pageSize = view.getUint32(8); // stored literally, 65536 included
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return null;
  const bigEndianChecksum = magic === WAL_MAGIC_BE;
  const [s1, s2] = walChecksum(buf.subarray(0, 24), bigEndianChecksum, 0, 0);
  if (s1 !== view.getUint32(24) || s2 !== view.getUint32(28)) return null;
  return {
    bigEndianChecksum, pageSize,
    checkpointSequence: view.getUint32(12),
    salt1: view.getUint32(16), salt2: view.getUint32(20),
    checksum1: s1, checksum2: s2,
  };
}

export function parseFrameHeader(buf: Uint8Array): FrameHeader {
  const view = new DataView(buf.buffer, buf.byteOffset, WAL_FRAME_HEADER_BYTES);
  return {
    pgno: view.getUint32(0), commitSizePages: view.getUint32(4),
    salt1: view.getUint32(8), salt2: view.getUint32(12),
    checksum1: view.getUint32(16), checksum2: view.getUint32(20),
  };
}

/** Byte offset of frame `index` (1-based). */
export function frameOffset(index: number, pageSize: number): number {
  return WAL_HEADER_BYTES + (index - 1) * (pageSize + WAL_FRAME_HEADER_BYTES);
}

/**
 * SQLite's running WAL checksum (walChecksumBytes): the input is read as 32-bit words in the
 * byte order the magic selects; (s1, s2) continue from the previous frame's values.
 */
export function walChecksum(data: Uint8Array, bigEndian: boolean, seed1: number,
  seed2: number): [number, number] {
  let s1 = seed1 >>> 0;
  let s2 = seed2 >>> 0;
  const words = data.byteLength >>> 2;
  if (!bigEndian && LITTLE_ENDIAN_HOST && (data.byteOffset & 3) === 0) {
    // The hot path (x86/ARM writing native order): plain 32-bit loads, no DataView per word.
    const u32 = new Uint32Array(data.buffer, data.byteOffset, words);
    for (let i = 0; i < words; i += 2) {
      s1 = (s1 + u32[i]! + s2) >>> 0;
      s2 = (s2 + u32[i + 1]! + s1) >>> 0;
    }
    return [s1, s2];
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < words; i += 2) {
    s1 = (s1 + view.getUint32(i * 4, !bigEndian) + s2) >>> 0;
    s2 = (s2 + view.getUint32(i * 4 + 4, !bigEndian) + s1) >>> 0;
  }
  return [s1, s2];
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Validates one frame (24-byte header + page) against the header's salts and the chain seed.
 * Returns the new chain values and the parsed frame header, or null for an invalid frame.
 */
export function checkFrame(frame: Uint8Array, header: WalHeader, seed1: number,
  seed2: number): { frame: FrameHeader; checksum1: number; checksum2: number } | null {
  const parsed = parseFrameHeader(frame);
  if (parsed.pgno === 0) return null;
  if (parsed.salt1 !== header.salt1 || parsed.salt2 !== header.salt2) return null;
  const endian = header.bigEndianChecksum;
  let [s1, s2] = walChecksum(frame.subarray(0, 8), endian, seed1, seed2);
  [s1, s2] = walChecksum(frame.subarray(WAL_FRAME_HEADER_BYTES,
    WAL_FRAME_HEADER_BYTES + header.pageSize), endian, s1, s2);
  if (s1 !== parsed.checksum1 || s2 !== parsed.checksum2) return null;
  return { frame: parsed, checksum1: s1, checksum2: s2 };
}
