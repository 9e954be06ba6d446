import { describe, expect, it } from 'vitest';
import { cleanSchema, schemaProfileFor } from './schema-clean.ts';

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    name: { type: 'string', default: 'x', minLength: 1 },
    tags: { type: 'array', items: { $ref: '#/$defs/tag' } },
    mode: { const: 'fast' },
    note: { type: ['string', 'null'], examples: ['a'] },
    extra: { type: 'object', patternProperties: { '^x': { type: 'string' } }, title: 'Extra' },
  },
  required: ['name'],
  additionalProperties: false,
  $defs: { tag: { type: 'string', enum: ['a', 'b'] } },
};

describe('cleanSchema', () => {
  it('drops keywords OpenAI strict mode rejects, keeping the rest', () => {
    expect(cleanSchema(schema, 'openai')).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        tags: { type: 'array', items: { $ref: '#/$defs/tag' } },
        mode: { const: 'fast' },
        note: { type: ['string', 'null'] },
        extra: { type: 'object', title: 'Extra' },
      },
      required: ['name'],
      additionalProperties: false,
      $defs: { tag: { type: 'string', enum: ['a', 'b'] } },
    });
  });

  it('reduces to the OpenAPI subset Gemini accepts, inlining references', () => {
    expect(cleanSchema(schema, 'gemini')).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } },
        mode: { enum: ['fast'] },
        note: { type: 'string', nullable: true },
        extra: { type: 'object' },
      },
      required: ['name'],
    });
  });

  it('gives schema-less tools an empty object schema, and picks profiles by provider type', () => {
    expect(cleanSchema(undefined, 'openai')).toEqual({ type: 'object', properties: {} });
    expect(schemaProfileFor('gemini')).toBe('gemini');
    expect(schemaProfileFor('openai-compatible')).toBe('openai');
  });

  it('ends on recursive references', () => {
    const recursive = { type: 'object', properties: { child: { $ref: '#' } } };
    expect(JSON.stringify(cleanSchema(recursive, 'gemini')).length).toBeLessThan(2000);
  });
});
