import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseConfigText, type ConfigResult } from './load.ts';

/**
 * Kubernetes mounts a ConfigMap's files as links through `..data`, and updates them all at once
 * by pointing `..data` at a new `..<timestamp>` directory: the file's own name never appears in
 * the directory's events then. Other files beside the config (a request-log database, say) are
 * ignored, as before.
 */
const KUBERNETES_ENTRY = '..';

export interface ConfigWatcher {
  close(): void;
}

/**
 * Watches a config file and reports each changed version, parsed and validated. The
 * directory is watched, not the file, so editors that save by writing a new file and
 * renaming it over the old one are seen too, and so are Kubernetes ConfigMap updates; bursts
 * of events are debounced, and a save that leaves the text as it was is ignored. `loadedText`
 * is the text the running config came from: a version is new when it differs from that (read
 * again here, the file could already hold an edit made since the load, which would then pass
 * for the running config and be missed).
 */
export function watchConfigFile(
  file: string,
  loadedText: string | undefined,
  onChange: (result: ConfigResult) => void,
  debounceMs = 150,
): ConfigWatcher {
  let timer: NodeJS.Timeout | undefined;
  let lastText = loadedText;
  let closed = false;

  const reload = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return; // mid-rename, or deleted: the next event brings the new file
    }
    if (closed || text === lastText) return;
    lastText = text;
    onChange(parseConfigText(text, file));
  };

  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name && !changed.startsWith(KUBERNETES_ENTRY)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  });
  watcher.on('error', () => undefined);

  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
