// Helpers the TDS codec tests share: a seeded PRNG, byte literals, and tedious's own token
// parser as an oracle for what we encode.
import TokenParserModule from "tedious/lib/token/stream-parser.js";
import DebugModule from "tedious/lib/debug.js";

// tedious's modules export the class itself, while TypeScript types it as the exports object.
const TediousTokenParser = TokenParserModule as unknown as typeof TokenParserModule.default;
const TediousDebug = DebugModule as unknown as typeof DebugModule.default;

/** mulberry32: a small seeded PRNG, so every random run replays from its seed. */
export function prng(seed: number): { below(n: number): number; bytes(n: number): Buffer } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  return {
    below: (n) => Math.floor(next() * n),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

export function utf16(text: string): Buffer {
  return Buffer.from(text, "utf16le");
}

/** The tokens tedious 19 decodes from a response payload. */
export async function tediousTokens(payload: Buffer): Promise<Record<string, unknown>[]> {
  const options = { useUTC: true, lowerCaseGuids: false, tdsVersion: "7_4",
    useColumnNames: false, camelCaseColumns: false, columnNameReplacer: undefined };
  const tokens: Record<string, unknown>[] = [];
  for await (const token of TediousTokenParser.parseTokens([payload], new TediousDebug(),
    options as never)) {
    tokens.push(token as unknown as Record<string, unknown>);
  }
  return tokens;
}
