/** One chat completion through the gateway, with what tests look at. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly ms: number;
}

export interface AskOptions {
  readonly stream?: boolean;
  readonly headers?: Record<string, string>;
  readonly body?: Record<string, unknown>;
  readonly content?: string;
}

export async function ask(gatewayUrl: string, model: string, options: AskOptions = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({
      model,
      stream: options.stream ?? false,
      messages: [{ role: 'user', content: options.content ?? 'Say hello.' }],
      ...options.body,
    }),
  });
  const text = await response.text().catch((error: unknown) => `(body cut: ${String(error)})`);
  return { status: response.status, headers: response.headers, text, ms: performance.now() - started };
}

/** Runs `count` requests, `concurrency` at a time, and returns their answers in completion order. */
export async function askMany(count: number, concurrency: number, one: (index: number) => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) answers.push(await one(next++));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return answers;
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
