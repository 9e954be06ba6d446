import { describe, expect, it } from 'vitest';
import { GUARDS } from '../../config/cache-schema.ts';
import { localEmbedding } from './embed.ts';
import { guardsPass } from './guards.ts';

function similarity(left: string, right: string): number {
  const a = localEmbedding(left);
  const b = localEmbedding(right);
  let dot = 0;
  for (let index = 0; index < a.length; index++) dot += (a[index] ?? 0) * (b[index] ?? 0);
  return dot;
}

const THRESHOLD = 0.8;
const hits = (query: string, cached: string) => similarity(query, cached) >= THRESHOLD && guardsPass(GUARDS, query, cached);

describe('semantic guards with the local embedder', () => {
  it.each([
    ['What is the capital of France?', 'what is the capital of france'],
    ['What is the capital of France?', 'What is the captial of France?'],
    ['How do I reset my password?', 'how do i reset my password ?'],
    ['Summarise the attached report in three bullet points.', 'Summarise the attached report in three bullet points please.'],
  ])('near-duplicates hit: %s ~ %s', (query, cached) => {
    expect(hits(query, cached)).toBe(true);
  });

  it.each([
    ['What is the capital of France?', 'What is the capital of Spain?'],
    ['what is the capital of france', 'what is the capital of spain'],
    ['What is 12 times 7?', 'What is 12 times 8?'],
    ['Convert 1,000 dollars to euros', 'Convert 10,000 dollars to euros'],
    ['Is Python a compiled language?', 'Is Python not a compiled language?'],
    ['Should I take ibuprofen with food?', "Shouldn't I take ibuprofen with food?"],
    ['Write a poem about the sea', 'Write a poem about the sky'],
    ['Who wrote Hamlet?', 'Who wrote Macbeth?'],
    ['where is austria', 'where is australia'],
    ['list the planets in order', 'list the planets in reverse order'],
  ])('lexically close but different questions miss: %s vs %s', (query, cached) => {
    expect(similarity(query, cached)).toBeGreaterThan(0.5);
    expect(hits(query, cached)).toBe(false);
  });
});
