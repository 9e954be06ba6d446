import { expect } from 'vitest';
import type { GatewayProcess } from './gateway-process.ts';

/**
 * The access-log line of one request, once the gateway has written it (lines go out in
 * batches, so a check of the output right after an answer could see none of them).
 */
export async function accessLogLine(gateway: GatewayProcess, requestId: string): Promise<Record<string, unknown>> {
  const line = (): string =>
    gateway
      .output()
      .stdout.split('\n')
      .find((entry) => entry.includes(`"request_id":"${requestId}"`)) ?? '';
  await expect.poll(line).not.toBe('');
  return JSON.parse(line()) as Record<string, unknown>;
}
