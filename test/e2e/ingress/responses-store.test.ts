import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../../support/gateway-process.ts';

const CALLER_KEY = 'sk-caller-secret-never-stored';

describe('responses kept in SQLite', () => {
  it('survive a gateway restart: GET, input_items and previous_response_id still work', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lightport-store-')), 'responses.db');
    const config = `
providers:
  mock: { type: mock }
responses:
  store: sqlite
  sqlite_path: ${file}
`;
    const first = await startGateway({ config });
    let id = '';
    try {
      const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: CALLER_KEY, maxRetries: 0 });
      id = (await client.responses.create({ model: 'mock/echo', input: 'remember me' })).id;
    } finally {
      await first.stop();
    }

    // What is stored is the conversation, never the caller's credentials.
    expect(readFileSync(file).includes(CALLER_KEY)).toBe(false);
    expect(readFileSync(file).includes('remember me')).toBe(true);

    const second = await startGateway({ config });
    try {
      const client = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: 'x', maxRetries: 0 });
      expect((await client.responses.retrieve(id)).output_text).toBe('remember me');
      const items = await client.responses.inputItems.list(id);
      expect(items.data).toMatchObject([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'remember me' }] }]);
      const next = await client.responses.create({ model: 'mock/echo', input: 'and this', previous_response_id: id });
      expect(next.output_text).toBe('and this');
      const history = await client.responses.inputItems.list(next.id, { order: 'asc' });
      expect(history.data.map((item) => (item.type === 'message' ? item.role : item.type))).toEqual(['user', 'assistant', 'user']);
    } finally {
      await second.stop();
    }
  });
});
