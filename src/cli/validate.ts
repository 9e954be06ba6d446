import { formatProblem, loadConfigFile } from '../config/load.ts';

export async function runValidate(file: string | undefined): Promise<number> {
  if (file === undefined) {
    process.stderr.write('Usage: lightport validate FILE\n');
    return 2;
  }
  const result = await loadConfigFile(file);
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`${formatProblem(file, problem)}\n`);
    process.stderr.write(`${result.problems.length} problem(s) in ${file}\n`);
    return 1;
  }
  const { providers, models } = result.config;
  process.stdout.write(`${file} is valid: ${Object.keys(providers).length} provider(s), ${Object.keys(models).length} model(s)\n`);
  return 0;
}
