import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemoryResponsesStore, type StoredResponse } from './responses-store.ts';
import { SqliteResponsesStore } from './sqlite-responses-store.ts';

const conversation = (id: string): StoredResponse => ({
  kind: 'conversation',
  id,
  response: { id, object: 'response', output: [{ type: 'message', content: [{ type: 'output_text', text: 'hi ✓' }] }] },
  inputItems: [{ id: 'msg_1', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }],
});

describe('MemoryResponsesStore', () => {
  it('keeps the most recent entries, dropping the oldest first', async () => {
    const store = new MemoryResponsesStore(2);
    store.put(conversation('resp_a'));
    store.put(conversation('resp_b'));
    store.put({ kind: 'relayed', id: 'resp_c', provider: 'openai' });
    expect(await store.get('resp_a')).toBeUndefined();
    expect(await store.get('resp_b')).toEqual(conversation('resp_b'));
    expect(await store.get('resp_c')).toEqual({ kind: 'relayed', id: 'resp_c', provider: 'openai' });
    expect(await store.delete('resp_b')).toBe(true);
    expect(await store.delete('resp_b')).toBe(false);
  });
});

describe('SqliteResponsesStore', () => {
  it('reads a write before it is flushed, and keeps it across a restart', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lightport-responses-')), 'nested', 'responses.db');
    const store = new SqliteResponsesStore(file);
    store.put(conversation('resp_a'));
    expect(await store.get('resp_a')).toEqual(conversation('resp_a'));
    await nextTurn();
    store.put({ kind: 'relayed', id: 'resp_b', provider: 'azure' });
    await store.close();

    const reopened = new SqliteResponsesStore(file);
    expect(await reopened.get('resp_a')).toEqual(conversation('resp_a'));
    expect(await reopened.get('resp_b')).toEqual({ kind: 'relayed', id: 'resp_b', provider: 'azure' });
    expect(await reopened.delete('resp_a')).toBe(true);
    expect(await reopened.get('resp_a')).toBeUndefined();
    expect(await reopened.delete('resp_missing')).toBe(false);
    await reopened.close();
  });

  it('writes queued records together after the current turn', async () => {
    const store = new SqliteResponsesStore(':memory:');
    for (let index = 0; index < 50; index++) store.put(conversation(`resp_${index}`));
    await nextTurn();
    expect(await store.get('resp_49')).toEqual(conversation('resp_49'));
    expect(store.dropped).toBe(0);
    await store.close();
  });
});
