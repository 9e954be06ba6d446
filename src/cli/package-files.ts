import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Files shipped beside the code; the same relative path from src/cli and dist/cli. */
export function packageFile(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

export const EXAMPLE_CONFIG = packageFile('examples/lightport.yaml');
export const STARTER_CONFIG = packageFile('templates/lightport.starter.yaml');

export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
