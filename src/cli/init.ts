import { copyFile, constants } from 'node:fs/promises';
import { STARTER_CONFIG } from './package-files.ts';

export async function runInit(output: string, force: boolean): Promise<number> {
  try {
    await copyFile(STARTER_CONFIG, output, force ? 0 : constants.COPYFILE_EXCL);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      process.stderr.write(`${output} already exists; pass --force to overwrite it.\n`);
      return 1;
    }
    throw error;
  }
  process.stdout.write(`Wrote ${output}. Start the gateway with: lightport start --config ${output}\n`);
  return 0;
}
