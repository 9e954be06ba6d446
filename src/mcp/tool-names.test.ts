import { describe, expect, it } from 'vitest';
import { exposedToolName } from './tool-names.ts';

describe('exposedToolName', () => {
  it('is <server>__<tool> when that is a valid function name', () => {
    expect(exposedToolName('everything', 'get-sum')).toBe('everything__get-sum');
  });

  it('shortens long names with a hash, stable and unique, within 64 characters', () => {
    const long = exposedToolName('warehouse', `lookup_${'x'.repeat(80)}`);
    const other = exposedToolName('warehouse', `lookup_${'x'.repeat(79)}y`);
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^warehouse__lookup_x+_[0-9a-f]{8}$/);
    expect(other).not.toBe(long);
    expect(exposedToolName('warehouse', `lookup_${'x'.repeat(80)}`)).toBe(long);
  });

  it('replaces characters providers reject, hashing so different names stay apart', () => {
    const dotted = exposedToolName('fs', 'files.read');
    expect(dotted).toMatch(/^fs__files_read_[0-9a-f]{8}$/);
    expect(exposedToolName('fs', 'files_read')).toBe('fs__files_read');
  });
});
