import { distance } from 'fastest-levenshtein';
import type { CacheGuard } from '../../config/cache-schema.ts';
import { words } from './embed.ts';

const NEGATIONS = new Set(['not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'without', 'cannot', 'nowhere']);

const STOPWORDS = new Set(
  'the a an of in on at to for from by with and or is are was were be been being it its this that these those what which who whom whose how why when where do does did can could should would will shall may might must i you he she we they me my your our their his her as if than then so such about into over under please tell me'.split(
    ' ',
  ),
);

/** Numbers in order of appearance: "3 apples" and "4 apples" differ, "1,000" and "1000" do not. */
function numbers(text: string): string {
  return (text.match(/\d+(?:[.,]\d+)*/g) ?? []).map((number) => number.replace(/,(?=\d{3}\b)/g, '')).join(' ');
}

function negations(text: string): string {
  return words(text)
    .filter((word) => NEGATIONS.has(word) || word.endsWith("n't"))
    .toSorted()
    .join(' ');
}

/** Capitalised words that do not start a sentence: names of places, people, products. */
function entities(text: string): string[] {
  const found: string[] = [];
  for (const sentence of text.split(/[.!?\n]+/)) {
    const tokens = sentence.trim().split(/\s+/).slice(1);
    for (const token of tokens) {
      const word = token.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
      if (/^\p{Lu}/u.test(word) && word !== 'I') found.push(word.toLowerCase());
    }
  }
  return found;
}

/** Each side's names appear, in any case, among the other side's words ("France" matches "france"). */
function sameEntities(query: string, cached: string): boolean {
  const queryWords = new Set(words(query));
  const cachedWords = new Set(words(cached));
  return entities(query).every((name) => cachedWords.has(name)) && entities(cached).every((name) => queryWords.has(name));
}

function contentWords(text: string): string[] {
  return words(text).filter((word) => word.length >= 3 && !STOPWORDS.has(word) && !/^\d/.test(word));
}

/** Two words with the same letters in another order ("captial", "capital"): a swap counts as one typo. */
function isAnagram(left: string, right: string): boolean {
  return left.length === right.length && [...left].toSorted().join('') === [...right].toSorted().join('');
}

/** Typos and inflections only: a word of 5–7 letters may differ by one edit (a swap is one), longer ones by two. */
function closeWord(word: string, candidates: readonly string[]): boolean {
  const allowed = word.length >= 8 ? 2 : word.length >= 5 ? 1 : 0;
  if (allowed === 0) return candidates.includes(word);
  return candidates.some((candidate) => {
    const edits = distance(word, candidate);
    return edits <= allowed || (edits === 2 && isAnagram(word, candidate));
  });
}

function sameContentWords(query: string, cached: string): boolean {
  const left = contentWords(query);
  const right = contentWords(cached);
  return left.every((word) => closeWord(word, right)) && right.every((word) => closeWord(word, left));
}

/**
 * Similarity alone cannot tell "capital of France" from "capital of Spain": both are one
 * word apart. Each guard names something that must match exactly, whatever the similarity.
 */
export function guardsPass(guards: readonly CacheGuard[], query: string, cached: string): boolean {
  for (const guard of guards) {
    switch (guard) {
      case 'numbers':
        if (numbers(query) !== numbers(cached)) return false;
        break;
      case 'negation':
        if (negations(query) !== negations(cached)) return false;
        break;
      case 'entities':
        if (!sameEntities(query, cached)) return false;
        break;
      case 'content_words':
        if (!sameContentWords(query, cached)) return false;
        break;
    }
  }
  return true;
}
