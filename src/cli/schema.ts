import { z } from 'zod';
import { configSchema } from '../config/schema.ts';

/** The JSON Schema editors use through `# yaml-language-server: $schema=...`. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://lightport.dev/schema/lightport.schema.json',
    title: 'Lightport gateway configuration',
  };
}

export function runSchema(): number {
  // A reader that stops early (`lightport schema | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
