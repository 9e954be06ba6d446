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
    ['Summarise the attached report in three bullet points.', 'Summarize the attached report in three bullet points.'],
    ['How do I reset my password?', 'How do I reset my pasword?'],
    ['How do I reset my password?', 'How do I reset my passwords?'],
    ['Explain how photosynthesis works in plants', 'Explain how photosyntesis works in plants'],
    ['Is France bigger than Spain?', 'is france bigger than spain'],
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
    ['Is A bigger than B?', 'Is B bigger than A?'],
    ['Is France bigger than Spain?', 'Is Spain bigger than France?'],
    ['is france bigger than spain', 'is spain bigger than france'],
    ['How do I convert Celsius to Fahrenheit?', 'How do I convert Fahrenheit to Celsius?'],
    ['Did the dog bite the man?', 'Did the man bite the dog?'],
    ['How do I increase the font size?', 'How do I decrease the font size?'],
    ['How do I maximize the window?', 'How do I minimize the window?'],
    ['How do I encrypt a file?', 'How do I decrypt a file?'],
    ['How do I include a header?', 'How do I exclude a header?'],
  ])('lexically close but different questions miss: %s vs %s', (query, cached) => {
    expect(similarity(query, cached)).toBeGreaterThan(0.5);
    expect(hits(query, cached)).toBe(false);
  });
});

describe('the local embedder', () => {
  it('weighs word order: the same words swapped are less alike than a typo', () => {
    expect(similarity('Is A bigger than B?', 'Is B bigger than A?')).toBeLessThan(THRESHOLD);
    expect(similarity('convert usd to eur', 'convert eur to usd')).toBeLessThan(THRESHOLD);
    expect(similarity('What is the capital of France?', 'What is the captial of France?')).toBeGreaterThan(0.85);
  });
});

describe('the content_words guard', () => {
  const content = (query: string, cached: string) => guardsPass(['content_words'], query, cached);

  it('takes a late typo or inflection for the same word', () => {
    expect(content('reset my password', 'reset my pasword')).toBe(true);
    expect(content('summarise the report', 'summarize the reports')).toBe(true);
    expect(content('the capital of france', 'the captial of france')).toBe(true);
  });

  it('never takes words that differ in their first two letters for a typo: prefixes change the meaning', () => {
    expect(content('increase the font size', 'decrease the font size')).toBe(false);
    expect(content('maximize the window', 'minimize the window')).toBe(false);
    expect(content('serialize the object', 'deserialize the object')).toBe(false);
  });

  it('wants the content words in the same order', () => {
    expect(content('convert celsius to fahrenheit', 'convert fahrenheit to celsius')).toBe(false);
    expect(content('did the dog bite the man', 'did the man bite the dog')).toBe(false);
    expect(content('the dog and the dog', 'the dog')).toBe(true);
  });
});

describe('the entities guard', () => {
  it('wants the same names in the same order', () => {
    expect(guardsPass(['entities'], 'Is A bigger than B?', 'Is B bigger than A?')).toBe(false);
    expect(guardsPass(['entities'], 'Is A bigger than B?', 'is a bigger than b')).toBe(true);
    expect(guardsPass(['entities'], 'Flights from Paris to Rome', 'Flights from Rome to Paris')).toBe(false);
  });
});
