import { channel } from 'node:diagnostics_channel';
import type { AttemptOutcome, TokenUsage, UpstreamErrorClass } from '../providers/types.ts';

/**
 * What the pipeline tells the world. Stages publish here; metrics, logs and stores
 * subscribe, so no stage calls observability code directly. Publishing costs nothing
 * when nobody subscribes (check `hasSubscribers` before building an event).
 */
export interface AttemptFinished {
  readonly requestId: string;
  readonly provider: string;
  readonly providerType: string;
  readonly upstreamModel: string;
  readonly outcome: AttemptOutcome['kind'];
  /** HTTP status the upstream answered with, when it answered. */
  readonly status?: number;
  /** Why the upstream refused, when it did. */
  readonly errorClass?: UpstreamErrorClass;
  readonly durationMs: number;
}

export interface RequestFinished {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** False when the client went away or the connection was cut before the answer was complete. */
  readonly completed: boolean;
  readonly streaming: boolean;
  readonly model?: string;
  readonly provider?: string;
  readonly upstreamModel?: string;
  readonly usage?: TokenUsage;
  readonly durationMs: number;
}

export const attemptFinished = channel('lightport:attempt:finished');
export const requestFinished = channel('lightport:request:finished');
