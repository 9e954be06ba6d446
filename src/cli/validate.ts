import { formatProblem, loadConfigFile, locateProblems, type ConfigProblem } from '../config/load.ts';
import { createLogger } from '../observability/logger.ts';
import { createGateway } from '../server/gateway.ts';

/**
 * `lightport validate FILE`: the config's shape and references. With `connect`, also what only
 * the running parts can tell, as `start` checks it: MCP tool names against what each server
 * lists, and that Redis and the store answer.
 */
export async function runValidate(file: string | undefined, options: { readonly connect?: boolean } = {}): Promise<number> {
  if (file === undefined) {
    process.stderr.write('Usage: lightport validate [--connect] FILE\n');
    return 2;
  }
  const result = await loadConfigFile(file);
  if (!result.ok) return reportProblems(file, result.problems);
  const { config } = result;
  if (options.connect === true) {
    const gateway = createGateway(config, createLogger('silent'));
    const problems = await gateway.prepare();
    await gateway.shutdown();
    if (problems.length > 0) return reportProblems(file, await locateProblems(file, problems));
  }
  const checked = options.connect === true ? '; start-up checks passed' : '';
  const { providers, models } = config;
  process.stdout.write(
    `${file} is valid: ${Object.keys(providers).length} provider(s), ${Object.keys(models).length} model(s)${checked}\n`,
  );
  return 0;
}

function reportProblems(file: string, problems: readonly ConfigProblem[]): number {
  for (const problem of problems) process.stderr.write(`${formatProblem(file, problem)}\n`);
  process.stderr.write(`${problems.length} problem(s) in ${file}\n`);
  return 1;
}
