import { randomUUID } from 'node:crypto';
import type { EmbedThroughModel } from '../cache/semantic/embedders.ts';
import type { AttemptOutcome, EmbeddingsRequest, ResponseSink } from '../providers/types.ts';
import { RoutingInput } from '../router/routing-input.ts';
import type { RoutingTable } from '../router/routing-table.ts';
import { Buffer } from 'node:buffer';

/** How long the gateway waits for one of its own embedding calls. */
const EMBED_TIMEOUT_MS = 10_000;

/** An answer kept whole, for the gateway's own calls. */
class HeldAnswer implements ResponseSink {
  readonly #chunks: Buffer[] = [];
  start(): void {}
  write(chunk: Buffer | string): boolean {
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return true;
  }
  onDrain(resume: () => void): void {
    resume();
  }
  end(): void {}
  get text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/**
 * The gateway embedding a text through one of its own models (for the semantic cache): the
 * model's route picks the target as for a caller's request; one attempt, no retries.
 */
export function embedThroughRoutes(routing: { readonly current: RoutingTable }): EmbedThroughModel {
  return async (model, text) => {
    const request: EmbeddingsRequest = { model, input: text, encoding_format: 'float' };
    const route = routing.current.resolve(model);
    const [target] = route.planner.fixed ?? route.planner.plan(new RoutingInput({ kind: 'embeddings', body: request }, () => undefined));
    if (target === undefined) throw new Error(`model '${model}' has no target`);
    const answer = new HeldAnswer();
    const outcome = await target.provider.embeddings(request, {
      upstreamModel: target.upstreamModel,
      sink: answer,
      signal: AbortSignal.timeout(EMBED_TIMEOUT_MS),
      requestId: randomUUID(),
    });
    if (outcome.kind !== 'ok') throw new Error(`embedding model '${model}' failed: ${describe(outcome)}`);
    const body = JSON.parse(answer.text) as { data?: { embedding?: unknown }[] };
    const embedding = body.data?.[0]?.embedding;
    if (!Array.isArray(embedding) || !embedding.every((value) => typeof value === 'number')) {
      throw new Error(`embedding model '${model}' answered without an embedding`);
    }
    return embedding as number[];
  };
}

function describe(outcome: Exclude<AttemptOutcome, { kind: 'ok' }>): string {
  switch (outcome.kind) {
    case 'upstream_error':
      return `${outcome.status} ${outcome.body.error.message}`;
    case 'failed':
    case 'broken':
      return outcome.message;
    case 'cancelled':
      return 'timed out';
  }
}
