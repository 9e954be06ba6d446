import { parseArgs } from 'node:util';
import { runInit } from './init.ts';
import { packageVersion } from './package-files.ts';
import { runSchema } from './schema.ts';
import { runStart } from './start.ts';
import { runValidate } from './validate.ts';

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

/** Runs a CLI command and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
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
    case 'start':
      return runStart({ config: values.config, port: values.port, host: values.host });
    case 'validate':
      return runValidate(rest[0] ?? values.config, { connect: values.connect === true });
    case 'init':
      return runInit(values.output ?? 'lightport.yaml', values.force === true);
    case 'schema':
      return runSchema();
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
      return 2;
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}
