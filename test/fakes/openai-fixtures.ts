import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type JsonObject = { [key: string]: unknown };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Recorded provider responses live beside the repository, never inside it. */
export const providerFixturesDir = path.resolve(repoRoot, '../shared/fixtures/providers');

/**
 * Recorded OpenAI responses whose top-level fields (order included) the fake reuses,
 * so its answers carry whatever the real API sends (service_tier, system_fingerprint, ...).
 */
export interface OpenAIFixtures {
  completion: JsonObject;
  chunk: JsonObject;
  embeddingList: JsonObject;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJsonObject(file: string): Promise<JsonObject> {
  const parsed: unknown = JSON.parse(await readFile(path.join(providerFixturesDir, file), 'utf8'));
  if (!isJsonObject(parsed)) throw new Error(`fixture ${file} is not a JSON object`);
  return parsed;
}

export async function readOpenAIChunks(file = 'openai/openai-text.chunks.txt'): Promise<JsonObject[]> {
  const text = await readFile(path.join(providerFixturesDir, file), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const parsed: unknown = JSON.parse(line);
      if (!isJsonObject(parsed)) throw new Error(`${file} line ${index + 1} is not a JSON object`);
      return parsed;
    });
}

let cached: Promise<OpenAIFixtures> | undefined;

export function loadOpenAIFixtures(): Promise<OpenAIFixtures> {
  cached ??= (async () => {
    const [chunk] = await readOpenAIChunks();
    if (!chunk) throw new Error('openai-text.chunks.txt is empty');
    return {
      completion: await readJsonObject('openai/openai-text.json'),
      chunk,
      embeddingList: await readJsonObject('openai/openai-embedding.json'),
    };
  })();
  return cached;
}
