import type { ResponsesConfig } from '../config/schema.ts';
import { MemoryResponsesStore, type ResponsesStore } from './responses-store.ts';
import { SqliteResponsesStore } from './sqlite-responses-store.ts';

/** The backend the config picks. */
export function openResponsesStore(config: ResponsesConfig): ResponsesStore {
  switch (config.store) {
    case 'memory':
      return new MemoryResponsesStore(config.max_entries);
    case 'sqlite':
      return new SqliteResponsesStore(config.sqlite_path);
  }
}
