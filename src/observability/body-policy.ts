import type { LoggingConfig } from '../config/observability-schema.ts';
import type { BodyCapture } from './events.ts';

/**
 * Decides, when a request arrives, which of its bodies are kept for the access log and
 * the request-log store: errors are always kept unless bodies are off; `sample` keeps
 * a fraction of the rest.
 */
export function bodyCapturePolicy(logging: LoggingConfig, anyoneRecords: boolean): () => BodyCapture {
  if (!anyoneRecords) return () => 'off';
  switch (logging.bodies) {
    case 'off':
      return () => 'off';
    case 'errors':
      return () => 'errors';
    case 'all':
      return () => 'full';
    case 'sample': {
      const rate = logging.sample_rate;
      return () => (Math.random() < rate ? 'full' : 'errors');
    }
  }
}
