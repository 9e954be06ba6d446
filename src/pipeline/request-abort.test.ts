import { describe, expect, it } from 'vitest';
import { RequestAbort } from './request-abort.ts';

describe('RequestAbort', () => {
  it('runs each registered hook once, after the signal has aborted with the reason', () => {
    const abort = new RequestAbort();
    const seen: string[] = [];
    abort.add(() => seen.push(`first:${String(abort.signal.reason)}:${abort.signal.aborted}`));
    abort.add(() => seen.push('second'));
    abort.abort('deadline');
    abort.abort('client_closed');
    expect(seen).toEqual(['first:deadline:true', 'second']);
    expect(abort.signal.reason).toBe('deadline');
  });

  it('skips hooks removed before the abort; removing hooks while they run is harmless', () => {
    const abort = new RequestAbort();
    const seen: string[] = [];
    const removed = (): void => {
      seen.push('removed');
    };
    const second = (): void => {
      seen.push('second');
    };
    const first = (): void => {
      seen.push('first');
      abort.remove(first);
      abort.remove(second);
    };
    abort.add(removed);
    abort.add(first);
    abort.add(second);
    abort.remove(removed);
    abort.remove(() => undefined); // never added: nothing happens
    abort.abort('shutdown');
    expect(seen).toEqual(['first', 'second']);
  });

  it('still fires the signal’s own listeners, for code that listens the standard way', () => {
    const abort = new RequestAbort();
    let heard: unknown;
    abort.signal.addEventListener('abort', () => (heard = abort.signal.reason));
    abort.abort('client_closed');
    expect(heard).toBe('client_closed');
  });
});
