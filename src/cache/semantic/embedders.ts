import { localEmbedding } from './embed.ts';

/** Turns a question into a unit vector; vectors are compared only with those of the same embedder. */
export interface Embedder {
  embed(text: string): Float32Array | Promise<Float32Array>;
}

/** Embeds texts through one of the gateway's own models: resolves with the embedding of `text`. */
export type EmbedThroughModel = (model: string, text: string) => Promise<readonly number[]>;

export const LOCAL_EMBEDDER: Embedder = { embed: localEmbedding };

/** A query's partition names its embedder after this mark (the built-in one is not named). */
const EMBEDDER_MARK = '@';

export function partitionFor(partition: string, model: string | undefined): string {
  return model === undefined ? partition : `${partition}${EMBEDDER_MARK}${model}`;
}

export function embedderModelOf(partition: string): string | undefined {
  const mark = partition.indexOf(EMBEDDER_MARK);
  return mark === -1 ? undefined : partition.slice(mark + 1);
}

const REMEMBERED = 2048;

/**
 * Embeddings from a configured embedding model, normalised to unit length. A question's
 * vector is kept for a while: the lookup embeds it, and the same text is embedded again when
 * its answer is added to the index.
 */
export class ModelEmbedder implements Embedder {
  readonly #model: string;
  readonly #through: EmbedThroughModel;
  readonly #recent = new Map<string, Promise<Float32Array>>();

  constructor(model: string, through: EmbedThroughModel) {
    this.#model = model;
    this.#through = through;
  }

  embed(text: string): Promise<Float32Array> {
    let vector = this.#recent.get(text);
    if (vector === undefined) {
      vector = this.#through(this.#model, text).then(unit);
      if (this.#recent.size >= REMEMBERED) this.#recent.clear();
      this.#recent.set(text, vector);
      vector.catch(() => this.#recent.delete(text));
    }
    return vector;
  }
}

function unit(values: readonly number[]): Float32Array {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let index = 0; index < vector.length; index++) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}
