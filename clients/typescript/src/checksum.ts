/**
 * Scope checksums, exactly as the server computes them: the number of live rows and the sum of
 * `blake2b("<entity>:<id>:<version>", digest_size=4)` read as big-endian unsigned ints, summed
 * as a BigInt (no float rounding however large the scope).
 */
import { blake2b } from "@noble/hashes/blake2.js";

const encoder = new TextEncoder();

export function rowDigest(entity: string, id: string, version: number): bigint {
  const d = blake2b(encoder.encode(`${entity}:${id}:${version}`), { dkLen: 4 });
  return BigInt(((d[0]! << 24) >>> 0) + (d[1]! << 16) + (d[2]! << 8) + d[3]!);
}

export interface Checksum {
  count: bigint;
  digest: bigint;
}

export function checksumOf(rows: Iterable<{ entity: string; id: string; version: number }>): Checksum {
  let count = 0n;
  let digest = 0n;
  for (const row of rows) {
    count += 1n;
    digest += rowDigest(row.entity, row.id, row.version);
  }
  return { count, digest };
}

/**
 * Reads `"checksums": {"scope": [count, digest], …}` from a pull reply's raw JSON text, keeping
 * every digit (JSON.parse would round a digest above 2^53).
 */
export function parseChecksums(raw: string): Map<string, Checksum> {
  const found = new Map<string, Checksum>();
  const at = raw.lastIndexOf('"checksums"');
  if (at < 0) return found;
  const start = raw.indexOf("{", at);
  const end = raw.indexOf("}", start);
  if (start < 0 || end < 0) return found;
  const body = raw.slice(start, end + 1);
  for (const m of body.matchAll(/"((?:[^"\\]|\\.)*)"\s*:\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]/g)) {
    found.set(JSON.parse(`"${m[1]}"`) as string, { count: BigInt(m[2]!), digest: BigInt(m[3]!) });
  }
  return found;
}
