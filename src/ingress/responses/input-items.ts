import type { Item } from './items.ts';

const DEFAULT_LIMIT = 20;
const MOST = 100;

/** `GET /v1/responses/{id}/input_items` for a conversation the gateway keeps: newest first unless `order=asc`, paged by `after`. */
export function listInputItems(items: readonly Readonly<Item>[], query: URLSearchParams): Record<string, unknown> {
  const asked = Number(query.get('limit') ?? DEFAULT_LIMIT);
  const limit = Number.isInteger(asked) && asked > 0 ? Math.min(asked, MOST) : DEFAULT_LIMIT;
  const ordered = query.get('order') === 'asc' ? [...items] : items.toReversed();
  const after = query.get('after');
  const start = after === null ? 0 : ordered.findIndex((item) => item['id'] === after) + 1;
  const data = ordered.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.['id'] ?? null,
    last_id: data.at(-1)?.['id'] ?? null,
    has_more: start + limit < ordered.length,
  };
}
