import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitChange, type CircuitSettings } from './circuit-breaker.ts';
import { HealthMap } from './health-map.ts';

const settings: CircuitSettings = { enabled: true, failures: 3, errorRate: 0.5, minRequests: 10, windowMs: 10_000, openMs: 1_000 };

function breaker(overrides: Partial<CircuitSettings> = {}) {
  const changes: Array<[CircuitChange, boolean]> = [];
  const circuit = new CircuitBreaker(
    'p/m',
    () => ({ ...settings, ...overrides }),
    (change, remote) => changes.push([change, remote]),
  );
  return { circuit, changes };
}

describe('CircuitBreaker', () => {
  it('publishes each state it enters, half-open included, for the circuit gauge', () => {
    const states: unknown[] = [];
    const onChange = (message: unknown): void => void states.push(message);
    subscribe('lightport:circuit:changed', onChange);
    try {
      const { circuit } = breaker({ failures: 1 });
      circuit.failure(0);
      circuit.admit(1000);
      circuit.success(1001);
      expect(states).toEqual([
        { target: 'p/m', state: 'open' },
        { target: 'p/m', state: 'half_open' },
        { target: 'p/m', state: 'closed' },
      ]);
    } finally {
      unsubscribe('lightport:circuit:changed', onChange);
    }
  });

  it('opens after consecutive failures, skips while open, half-opens one probe, and closes on its success', () => {
    const { circuit, changes } = breaker();
    circuit.failure(0);
    circuit.failure(1);
    expect(circuit.state).toBe('closed');
    circuit.failure(2);
    expect(circuit.state).toBe('open');
    expect(changes).toEqual([[{ id: 'p/m', state: 'open', remainingMs: 1000 }, false]]);
    expect(circuit.admit(500)).toBe(false);
    expect(circuit.remainingMs(500)).toBe(502);
    expect(circuit.admit(1002)).toBe(true);
    expect(circuit.state).toBe('half_open');
    expect(circuit.admit(1003)).toBe(false);
    circuit.success(1010);
    expect(circuit.state).toBe('closed');
    expect(changes.at(-1)).toEqual([{ id: 'p/m', state: 'closed', remainingMs: 0 }, false]);
    expect(circuit.admit(1011)).toBe(true);
  });

  it('re-opens when the half-open probe fails, and frees the probe slot on a neutral result', () => {
    const { circuit } = breaker({ failures: 1 });
    circuit.failure(0);
    expect(circuit.admit(1000)).toBe(true);
    circuit.neutral();
    expect(circuit.admit(1001)).toBe(true);
    circuit.failure(1002);
    expect(circuit.state).toBe('open');
    expect(circuit.admit(1500)).toBe(false);
  });

  it('opens on the error rate over the window once it holds enough attempts', () => {
    const { circuit } = breaker({ failures: 100 });
    for (let i = 0; i < 9; i++) {
      if (i % 2 === 0) circuit.failure(i);
      else circuit.success(i);
    }
    expect(circuit.state).toBe('closed');
    circuit.failure(9);
    expect(circuit.errorRate()).toBeCloseTo(0.6);
    expect(circuit.state).toBe('open');
  });

  it('forgets failures older than the window', () => {
    const { circuit } = breaker({ failures: 100 });
    for (let i = 0; i < 8; i++) circuit.failure(i);
    for (let i = 0; i < 4; i++) circuit.success(20_000 + i);
    expect(circuit.errorRate()).toBe(0);
    expect(circuit.state).toBe('closed');
  });

  it('applies a change from another replica without reporting it back as local', () => {
    const { circuit, changes } = breaker();
    circuit.applyRemote({ id: 'p/m', state: 'open', remainingMs: 5000 }, 100);
    expect(circuit.admit(200)).toBe(false);
    expect(changes).toEqual([[{ id: 'p/m', state: 'open', remainingMs: 5000 }, true]]);
    circuit.applyRemote({ id: 'p/m', state: 'closed', remainingMs: 0 }, 300);
    expect(circuit.admit(301)).toBe(true);
  });

  it('never opens when disabled', () => {
    const { circuit } = breaker({ enabled: false });
    for (let i = 0; i < 50; i++) circuit.failure(i);
    expect(circuit.admit(60)).toBe(true);
  });
});

describe('HealthMap', () => {
  it('keeps configured records and bounds the ones callers name per request', () => {
    const map = new HealthMap(settings);
    const configured = map.record('p/configured');
    expect(map.transientRecord('p/configured')).toBe(configured);
    const first = map.transientRecord('p/adhoc-0');
    for (let i = 1; i <= 1100; i++) map.transientRecord(`p/adhoc-${i}`);
    expect(map.entries().length).toBeLessThanOrEqual(1025);
    expect(map.transientRecord('p/adhoc-0')).not.toBe(first);
    expect(map.find('p/configured')).toBe(configured);
  });
});
