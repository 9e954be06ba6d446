import type { AnswerAddress } from '../answer-store.ts';

/** One question in the semantic index, pointing at its answer in the exact cache. */
export interface SemanticEntry {
  readonly partition: string;
  readonly text: string;
  readonly address: AnswerAddress;
  readonly expiresAt: number;
}
