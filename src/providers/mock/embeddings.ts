import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';

/** A deterministic unit vector for a text: the same text always embeds the same. */
export function mockEmbedding(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  let block = Buffer.alloc(0);
  for (let index = 0; index < dimensions; index++) {
    const offset = (index * 2) % 32;
    if (offset === 0) block = createHash('sha256').update(`${text}#${index}`).digest();
    vector[index] = block.readInt16LE(offset) / 32768;
  }
  const norm = Math.hypot(...vector) || 1;
  for (let index = 0; index < dimensions; index++) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}

/** OpenAI's `encoding_format: "base64"`: the little-endian float32 bytes, base64-encoded. */
export function toBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}
