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

/**
 * Each side's names appear, in any case and in the same order, among the other side's words
 * ("France" matches "france"; "from Paris to Rome" does not match "from Rome to Paris").
 */
function sameEntities(query: string, cached: string): boolean {
  return inOrder(entities(query), words(cached), same) && inOrder(entities(cached), words(query), same);
}

function same(left: string, right: string): boolean {
  return left === right;
}

/**
 * Each of `wanted` has a match among `found`, and the matches come in the same order: a word
 * matches at or after the place where the one before it did. "the dog bit the man" and "the man
 * bit the dog" have the same words, not in the same order.
 */
function inOrder(wanted: readonly string[], found: readonly string[], matches: (left: string, right: string) => boolean): boolean {
  let from = 0;
  for (const word of wanted) {
    let at = from;
    while (at < found.length && !matches(word, found[at] ?? '')) at++;
    if (at === found.length) return false;
    from = at;
  }
  return true;
}

function contentWords(text: string): string[] {
  return words(text).filter((word) => word.length >= 3 && !STOPWORDS.has(word) && !/^\d/.test(word));
}

/** Two words with the same letters in another order ("captial", "capital"): a swap counts as one typo. */
function isAnagram(left: string, right: string): boolean {
  return left.length === right.length && [...left].toSorted().join('') === [...right].toSorted().join('');
}

/**
 * Whether `other` is `word` or a typo or an inflection of it: a word of 5–7 letters may differ
 * by one edit (a swap is one), a longer one by two, and none in its first two letters. Typing
 * errors seldom fall on a word's first letters (spelling correctors commonly assume the first is
 * right), while the prefixes that turn a word into another one sit exactly there: increase and
 * decrease, maximize and minimize, include and exclude, serialize and deserialize. A typo
 * there makes a miss, which costs one upstream call; taking another word for a typo gives a
 * wrong answer.
 */
function closeWord(word: string, other: string): boolean {
  if (word === other) return true;
  const allowed = word.length >= 8 ? 2 : word.length >= 5 ? 1 : 0;
  if (allowed === 0 || word.charCodeAt(0) !== other.charCodeAt(0) || word.charCodeAt(1) !== other.charCodeAt(1)) return false;
  const edits = distance(word, other);
  return edits <= allowed || (edits === 2 && isAnagram(word, other));
}

/** Every content word of each side is in the other, up to a typo, and in the same order. */
function sameContentWords(query: string, cached: string): boolean {
  const left = contentWords(query);
  const right = contentWords(cached);
  return inOrder(left, right, closeWord) && inOrder(right, left, closeWord);
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
