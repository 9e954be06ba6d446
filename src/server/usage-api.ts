import type { RequestLog } from '../observability/request-log.ts';
import { USAGE_GROUPS, type UsageGroup, type UsageRow } from '../observability/request-log-store.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { requireAdmin } from './admin-auth.ts';
import { GatewayError } from './errors.ts';
import { sendJson } from './respond.ts';

const DAY_MS = 86_400_000;

/**
 * `GET /v1/usage?from=&to=&group_by=model|provider|key|user|day`: requests, tokens, cost,
 * error rate and latency percentiles from the request-log store. Admin key required.
 */
export async function handleUsage(
  context: RequestContext,
  adminKey: string | undefined,
  requestLog: RequestLog | undefined,
): Promise<void> {
  requireAdmin(context.req.headers, adminKey);
  if (requestLog === undefined) {
    throw new GatewayError('request_log_disabled', 'The usage API reads the request-log store, which is off: add a request_log section.');
  }
  const params = new URL(context.req.url ?? '/', 'http://gateway').searchParams;
  const to = parseTime(params.get('to'), 'to') ?? Date.now();
  const from = parseTime(params.get('from'), 'from') ?? to - DAY_MS;
  if (from >= to) throw new GatewayError('invalid_request', "'from' must be before 'to'.", { param: 'from' });
  const groupBy = parseGroup(params.get('group_by'));
  let rows: UsageRow[];
  try {
    rows = await requestLog.usage({ from, to, groupBy });
  } catch (error) {
    throw new GatewayError('request_log_unavailable', `The request-log store could not be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  sendJson(
    context.res,
    200,
    {
      object: 'usage',
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      group_by: groupBy,
      data: rows.map((row) => ({
        group: row.group,
        requests: row.requests,
        errors: row.errors,
        error_rate: row.requests === 0 ? 0 : row.errors / row.requests,
        input_tokens: row.input_tokens,
        output_tokens: row.output_tokens,
        cached_tokens: row.cached_tokens,
        reasoning_tokens: row.reasoning_tokens,
        cost_usd: row.cost_usd,
        latency_ms: { p50: row.p50_ms, p95: row.p95_ms },
      })),
    },
    context.headers,
  );
}

const EPOCH_SECONDS = /^\d+$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
/** The last instant a JavaScript date can hold. */
const LATEST_TIME_MS = 8.64e15;

/** An ISO 8601 date or date-time, or seconds since the epoch. */
function parseTime(value: string | null, param: string): number | undefined {
  if (value === null || value === '') return undefined;
  // Date.parse alone takes far more than ISO 8601 ('-1' is a year), and epoch seconds can overrun what a date holds.
  const time = EPOCH_SECONDS.test(value) ? Number(value) * 1000 : ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time) || time > LATEST_TIME_MS) {
    throw new GatewayError('invalid_request', `Invalid '${param}': expected an ISO 8601 date or time, or seconds since the epoch.`, {
      param,
    });
  }
  return time;
}

function parseGroup(value: string | null): UsageGroup {
  if (value === null || value === '') return 'model';
  if ((USAGE_GROUPS as readonly string[]).includes(value)) return value as UsageGroup;
  throw new GatewayError('invalid_request', `Invalid 'group_by': expected one of ${USAGE_GROUPS.join(', ')}.`, { param: 'group_by' });
}
