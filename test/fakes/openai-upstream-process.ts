// Runs the fake OpenAI upstream on its own: node test/fakes/openai-upstream-process.ts [--port N]
import { parseArgs } from 'node:util';
import { startOpenAIUpstream } from './openai-upstream.ts';

const { values } = parseArgs({ options: { port: { type: 'string' } } });
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`invalid --port ${values.port}\n`);
  process.exit(2);
}

const upstream = await startOpenAIUpstream({ port });
process.stdout.write(`listening on ${upstream.url}\n`);

const stop = (): void => {
  upstream.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
