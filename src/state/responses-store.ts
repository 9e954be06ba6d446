/**
 * What the gateway keeps of Responses API answers: the whole conversation of a response it wrote
 * itself over chat (so `previous_response_id`, GET and `input_items` work for any provider), or
 * only which provider holds a response the upstream keeps (so GET and DELETE reach it).
 */
export type StoredResponse =
  | {
      readonly kind: 'conversation';
      readonly id: string;
      /** The Response object as the caller got it. */
      readonly response: Readonly<Record<string, unknown>>;
      /** Every item the answer was generated from: earlier turns' inputs and outputs, then this turn's input. */
      readonly inputItems: readonly Readonly<Record<string, unknown>>[];
    }
  | { readonly kind: 'relayed'; readonly id: string; readonly provider: string };

export interface ResponsesStore {
  get(id: string): Promise<StoredResponse | undefined>;
  /** Queued: the write happens after the answer was sent and never delays it. */
  put(record: StoredResponse): void;
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** In-process: the most recent `maxEntries` responses, the oldest dropped first. */
export class MemoryResponsesStore implements ResponsesStore {
  readonly #records = new Map<string, StoredResponse>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(id: string): Promise<StoredResponse | undefined> {
    return Promise.resolve(this.#records.get(id));
  }

  put(record: StoredResponse): void {
    this.#records.delete(record.id);
    this.#records.set(record.id, record);
    if (this.#records.size > this.#maxEntries) this.#records.delete(this.#records.keys().next().value ?? '');
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.#records.delete(id));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
