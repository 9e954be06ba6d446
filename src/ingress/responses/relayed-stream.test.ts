import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { ResponseSink } from '../../providers/types.ts';
import { RelayedResponseStream } from './relayed-stream.ts';

const event = (type: string, sequence: number, fields = ''): string =>
  `event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence}${fields}}\n\n`;

function relayed(): { stream: RelayedResponseStream; sink: ResponseSink; written: (Buffer | string)[] } {
  const written: (Buffer | string)[] = [];
  const stream = new RelayedResponseStream();
  const sink = stream.sink({
    start: () => undefined,
    write: (chunk) => written.push(chunk) > 0,
    onDrain: () => undefined,
    end: () => undefined,
  });
  return { stream, sink, written };
}

const errorData = (stream: RelayedResponseStream): unknown =>
  JSON.parse(/^data: (.*)$/m.exec(stream.format.streamError('Cut.', 'upstream_error'))?.[1] ?? '');

describe('a Responses stream relayed as it is', () => {
  it('numbers the error event that ends it after the last event passed on, in bytes or text', () => {
    const { stream, sink, written } = relayed();
    expect(errorData(stream)).toMatchObject({ type: 'error', sequence_number: 0, code: 'upstream_error' });
    sink.write(Buffer.from(event('response.created', 0) + event('response.in_progress', 1)));
    expect(errorData(stream)).toMatchObject({ sequence_number: 2 });
    sink.write(event('response.output_text.delta', 12, ',"delta":"\\"sequence_number\\":99"'));
    expect(errorData(stream)).toMatchObject({
      type: 'error',
      sequence_number: 13,
      code: 'upstream_error',
      message: 'Cut.',
      error: { type: 'server_error', code: 'upstream_error', message: 'Cut.' },
    });
    // Keep-alives carry no number.
    sink.write(Buffer.from(': keep-alive\n\n'));
    expect(errorData(stream)).toMatchObject({ sequence_number: 13 });
    expect(written).toHaveLength(3);
  });
});
