import { parseArgs } from 'node:util';
import { packageVersion } from './package-files.ts';
import { relaunchWithServingFlags } from './relaunch.ts';

const USAGE = `Usage: lightport <command> [options]

Commands:
  start [--config FILE] [--port N] [--host H]   start the gateway (the default command)
  validate [--connect] FILE                      check a config, print every problem;
                                                 --connect also checks MCP tool names and state
  init [--output FILE] [--force]                 write a commented starter lightport.yaml
  schema                                         print the config's JSON Schema

Options:
  -h, --help       show this help
  -v, --version    show the version`;

export interface MainOptions {
  /** Set by the `lightport` executable: `start` may re-launch the process with its serving flags (./relaunch.ts). */
  readonly relaunch?: boolean;
}

/**
 * Runs a CLI command and returns the process exit code. Each command's module is loaded only
 * when it runs, so `start` re-launches before the gateway's code is loaded at all.
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        output: { type: 'string', short: 'o' },
        force: { type: 'boolean' },
        connect: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) return print(USAGE);
  if (values.version) return print(packageVersion());
  const [command = 'start', ...rest] = positionals;
  switch (command) {
    case 'start': {
      if (options.relaunch) {
        try {
          relaunchWithServingFlags();
        } catch (error) {
          process.stderr.write(`${(error as Error).message}\n`);
          return 2;
        }
      }
      const { runStart } = await import('./start.ts');
      return runStart({ config: values.config, port: values.port, host: values.host });
    }
    case 'validate':
      return (await import('./validate.ts')).runValidate(rest[0] ?? values.config, { connect: values.connect === true });
    case 'init':
      return (await import('./init.ts')).runInit(values.output ?? 'lightport.yaml', values.force === true);
    case 'schema':
      return (await import('./schema.ts')).runSchema();
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
      return 2;
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}
