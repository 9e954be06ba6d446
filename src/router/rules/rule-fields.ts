/** The objects a routing rule reads, with their fields. */
export interface RequestFields {
  readonly model: string;
  readonly kind: string;
  readonly messageCount: number;
  readonly estimatedTokens: number;
  readonly maxTokens: number | undefined;
  readonly tools: readonly string[];
  readonly stream: boolean;
  readonly images: boolean;
  readonly jsonSchema: boolean;
  readonly user: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly tags: readonly string[];
}

export interface CallerFields {
  readonly key: string | undefined;
  readonly user: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly tags: readonly string[];
}

export interface TimeFields {
  readonly hour: number;
  readonly minute: number;
  readonly weekday: number;
  readonly date: string;
  readonly timestamp: number;
}

export interface RuleScope {
  readonly request: RequestFields;
  readonly caller: CallerFields;
  readonly time: TimeFields;
}

type Reader = (scope: RuleScope) => unknown;

/**
 * One reader per field, each its own function, so every field read in a compiled rule is
 * a plain monomorphic property load rather than a lookup by name.
 */
export const FIELD_READERS: { readonly [root in keyof RuleScope]: Readonly<Record<string, Reader>> } = {
  request: {
    model: (scope) => scope.request.model,
    kind: (scope) => scope.request.kind,
    messageCount: (scope) => scope.request.messageCount,
    estimatedTokens: (scope) => scope.request.estimatedTokens,
    maxTokens: (scope) => scope.request.maxTokens,
    tools: (scope) => scope.request.tools,
    stream: (scope) => scope.request.stream,
    images: (scope) => scope.request.images,
    jsonSchema: (scope) => scope.request.jsonSchema,
    user: (scope) => scope.request.user,
    metadata: (scope) => scope.request.metadata,
    tags: (scope) => scope.request.tags,
  },
  caller: {
    key: (scope) => scope.caller.key,
    user: (scope) => scope.caller.user,
    metadata: (scope) => scope.caller.metadata,
    tags: (scope) => scope.caller.tags,
  },
  time: {
    hour: (scope) => scope.time.hour,
    minute: (scope) => scope.time.minute,
    weekday: (scope) => scope.time.weekday,
    date: (scope) => scope.time.date,
    timestamp: (scope) => scope.time.timestamp,
  },
};

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** UTC time fields from one timestamp, computed only when a rule reads them. */
export class TimeFacts implements TimeFields {
  readonly timestamp: number;
  constructor(timestamp: number) {
    this.timestamp = timestamp;
  }
  get hour(): number {
    return Math.floor(this.timestamp / HOUR_MS) % 24;
  }
  get minute(): number {
    return Math.floor(this.timestamp / 60_000) % 60;
  }
  /** 0 is Sunday; 1970-01-01 was a Thursday. */
  get weekday(): number {
    return (Math.floor(this.timestamp / DAY_MS) + 4) % 7;
  }
  get date(): string {
    return new Date(this.timestamp).toISOString().slice(0, 10);
  }
}
