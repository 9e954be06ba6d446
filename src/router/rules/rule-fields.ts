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

/** The fields a rule may read on each root; compiled rules read them as plain property loads. */
export const RULE_FIELDS: { readonly [root in keyof RuleScope]: ReadonlyArray<keyof RuleScope[root]> } = {
  request: [
    'model',
    'kind',
    'messageCount',
    'estimatedTokens',
    'maxTokens',
    'tools',
    'stream',
    'images',
    'jsonSchema',
    'user',
    'metadata',
    'tags',
  ],
  caller: ['key', 'user', 'metadata', 'tags'],
  time: ['hour', 'minute', 'weekday', 'date', 'timestamp'],
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
