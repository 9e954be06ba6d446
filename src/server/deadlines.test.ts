import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../pipeline/context.ts';
import { DeadlineSweep } from './deadlines.ts';
import { InFlightRequests } from './in-flight.ts';

const request = (deadlineInMs: number) =>
  ({ inFlightIndex: -1, deadlineAt: performance.now() + deadlineInMs, abort: new AbortController() }) as unknown as RequestContext;

describe('DeadlineSweep', () => {
  it('aborts requests past their deadline, leaves the others, and stops once none is in flight', async () => {
    const inFlight = new InFlightRequests();
    const sweep = new DeadlineSweep(inFlight, 5);
    const late = request(10);
    const patient = request(60_000);
    inFlight.add(late);
    inFlight.add(patient);
    expect(sweep.running).toBe(false);
    sweep.arm();
    expect(sweep.running).toBe(true);
    await sleep(50);
    expect(late.abort.signal.reason).toBe('deadline');
    expect(patient.abort.signal.aborted).toBe(false);

    inFlight.delete(late);
    inFlight.delete(patient);
    await sleep(30);
    expect(sweep.running).toBe(false);

    const next = request(10);
    inFlight.add(next);
    sweep.arm();
    await sleep(50);
    expect(next.abort.signal.reason).toBe('deadline');
    sweep.stop();
    expect(sweep.running).toBe(false);
  });
});
