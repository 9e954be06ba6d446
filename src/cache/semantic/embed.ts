/** Dimensions of the built-in embedder: enough to keep hash collisions rare for prompt-sized text. */
export const LOCAL_DIMENSIONS = 256;

/** Lowercased words without punctuation: what both the embedder and the guards compare. */
export function words(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .filter((word) => word !== '');
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193);
  }
  return value >>> 0;
}

function addFeature(vector: Float32Array, feature: string, weight: number): void {
  const value = hash(feature);
  const sign = (value & 0x8000_0000) === 0 ? 1 : -1;
  const slot = value % vector.length;
  vector[slot] = (vector[slot] ?? 0) + sign * weight;
}

/** The part of a word that stands for it in a word pair: its first letters, which a typo or an inflection rarely changes. */
const PAIR_PREFIX = 3;

/**
 * The built-in local embedder: hashed character trigrams of each word, the words themselves,
 * and each pair of neighbouring words (by their first three letters), L2-normalised. No network
 * and deterministic, so replicas embed alike; it finds near-duplicates (case, punctuation,
 * typos), not paraphrases. The pairs make word order count: "is A bigger than B" and "is B
 * bigger than A" share every word, but only one of their four pairs. Keyed by the words' first letters, a
 * pair survives a typo or an inflection further on ("captial of", "capital of").
 */
export function localEmbedding(text: string): Float32Array {
  const vector = new Float32Array(LOCAL_DIMENSIONS);
  let previous: string | undefined;
  for (const word of words(text)) {
    addFeature(vector, `w:${word}`, 1);
    const padded = ` ${word} `;
    for (let index = 0; index + 3 <= padded.length; index++) addFeature(vector, padded.slice(index, index + 3), 0.5);
    const stem = word.length > PAIR_PREFIX ? word.slice(0, PAIR_PREFIX) : word;
    if (previous !== undefined) addFeature(vector, `p:${previous} ${stem}`, 1);
    previous = stem;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let index = 0; index < vector.length; index++) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}
