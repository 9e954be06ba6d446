import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import type { McpSourceConfig } from '../../config/mcp-schema.ts';
import type { Logger } from '../../observability/logger.ts';
import { canonicalJson } from '../canonical-json.ts';
import { sourceBase, type ContextSource } from './source.ts';

type FileConfig = Extract<McpSourceConfig, { type: 'file' }>;

const RELOAD_DEBOUNCE_MS = 50;

/**
 * A local file (markdown, text or JSON) held in memory and reloaded when it changes. The
 * directory is watched, so editors that replace the file are seen too; a failed reload
 * keeps the last good content.
 */
export function fileSource(name: string, config: FileConfig, baseDir: string, logger: Logger): ContextSource {
  const path = resolve(baseDir, config.path);
  const isJson = extname(path).toLowerCase() === '.json';
  const parse = (text: string): string => (isJson ? canonicalJson(JSON.parse(text)) : text);
  let content = parse(readFileSync(path, 'utf8'));
  let timer: NodeJS.Timeout | undefined;
  const reload = (): void => {
    readFile(path, 'utf8')
      .then(parse)
      .then(
        (parsed) => {
          content = parsed;
          logger.info({ context_source: name, path }, 'context file reloaded');
        },
        (error: unknown) =>
          logger.warn({ context_source: name, path, err: String(error) }, 'context file reload failed; keeping the last content'),
      );
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(reload, RELOAD_DEBOUNCE_MS);
    });
  } catch (error) {
    logger.warn({ context_source: name, path, err: String(error) }, 'cannot watch context file; changes need a restart');
  }
  return {
    ...sourceBase(name, 'file', config, 'system'),
    resolve: () => ({ kind: 'static', text: content }),
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
