import { channel } from 'node:diagnostics_channel';
import type { AttemptOutcome, TokenUsage } from '../providers/types.ts';

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
  /** The caller's Lightport key, its team and the end user, when `auth` / limits are on. */
  readonly keyName?: string;
  readonly team?: string;
  readonly user?: string;
}

/** The shared limits backend (Redis) became unreachable, or reachable again. */
export interface LimitsBackendChanged {
  readonly state: 'unavailable' | 'recovered';
  readonly failMode: 'open' | 'closed';
  readonly error?: string;
}

export const attemptFinished = channel('lightport:attempt:finished');
export const requestFinished = channel('lightport:request:finished');
export const limitsBackendChanged = channel('lightport:limits:backend');
