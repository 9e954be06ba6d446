// A replayed workload for the semantic cache: each prompt carries the id of what it asks,
// so a hit that answers a different question is counted as a false hit.

export interface WorkloadPrompt {
  readonly text: string;
  /** Prompts with the same intent may share an answer; any other pairing is a false hit. */
  readonly intent: string;
  readonly kind: 'first' | 'repeat' | 'near_duplicate' | 'distinct_similar';
}

const COUNTRIES = ['France', 'Spain', 'Italy', 'Germany', 'Austria', 'Australia', 'Portugal', 'Poland', 'Sweden', 'Norway'];
const NUMBERS = [7, 8, 12, 13, 21, 100, 1000];

const templates: readonly ((value: string) => string)[] = [
  (country) => `What is the capital of ${country}?`,
  (country) => `What language is spoken in ${country}?`,
  (country) => `Is ${country} a member of the European Union?`,
  (country) => `Is ${country} not a member of NATO?`,
  (number) => `What is ${number} times 9?`,
  (number) => `Convert ${number} miles to kilometres.`,
];

/** Typo, case and punctuation variants of one prompt. */
function nearDuplicates(text: string): string[] {
  const lower = text.toLowerCase().replace(/[?.]$/, '');
  const spaced = text.replace(/\?$/, ' ?');
  const swapped = text.replace(/the (\w)(\w)/, 'the $2$1');
  return [lower, spaced, swapped].filter((variant) => variant !== text);
}

export function cacheWorkload(): WorkloadPrompt[] {
  const prompts: WorkloadPrompt[] = [];
  for (const [index, template] of templates.entries()) {
    const values = index < 4 ? COUNTRIES : NUMBERS.map(String);
    const [first, ...others] = values;
    if (first === undefined) continue;
    const text = template(first);
    const intent = `${index}:${first}`;
    prompts.push({ text, intent, kind: 'first' });
    prompts.push({ text, intent, kind: 'repeat' });
    for (const variant of nearDuplicates(text)) prompts.push({ text: variant, intent, kind: 'near_duplicate' });
    for (const other of others) {
      const distinct = template(other);
      prompts.push({ text: distinct, intent: `${index}:${other}`, kind: 'distinct_similar' });
      prompts.push({ text: distinct.toLowerCase(), intent: `${index}:${other}`, kind: 'near_duplicate' });
    }
  }
  return prompts;
}
