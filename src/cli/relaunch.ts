/**
 * An optional V8 setting for a serving gateway, and the re-launch that applies it.
 *
 * `LIGHTPORT_SEMI_SPACE_MB=N` fixes V8's young generation at N MB per semi-space. Node's default
 * starts at 1 MB, grows under pressure and shrinks when idle. A fixed 32 MB made plain requests
 * 15–22% cheaper in CPU (bench/heap-tuning.ts) but streamed chunks through the translators 25–45%
 * dearer (bench/translators.ts), so it is a choice for the operator, not a default (nor is a
 * ceiling alone: README, "Benchmarks › Session 16"). Node takes `--min-semi-space-size` only on
 * its command line (not in NODE_OPTIONS), and setting either after start-up is too late, so
 * `lightport start` replaces itself, same process id, with a Node that has them.
 */

/** Semi-space size in MB; unset or `0` keeps Node's defaults. */
export const SEMI_SPACE_ENV = 'LIGHTPORT_SEMI_SPACE_MB';
const LARGEST_SEMI_SPACE_MB = 1024;
const SEMI_SPACE_FLAG = /^--(?:min|max)[-_]semi[-_]space[-_]size\b/;

/** The Node flags `LIGHTPORT_SEMI_SPACE_MB` asks for (none when unset or 0); throws on a bad setting. */
export function servingNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const setting = env[SEMI_SPACE_ENV]?.trim();
  const megabytes = setting === undefined || setting === '' ? 0 : Number(setting);
  if (!Number.isInteger(megabytes) || megabytes < 0 || megabytes > LARGEST_SEMI_SPACE_MB) {
    throw new Error(`${SEMI_SPACE_ENV} must be a whole number of megabytes from 0 to ${LARGEST_SEMI_SPACE_MB}, not "${setting}"`);
  }
  return megabytes === 0 ? [] : [`--min-semi-space-size=${megabytes}`, `--max-semi-space-size=${megabytes}`];
}

/** Whether the flags were already given to this Node (by the user, or by an earlier re-launch). */
function semiSpaceChosen(execArgv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return (
    execArgv.some((flag) => SEMI_SPACE_FLAG.test(flag)) ||
    (env['NODE_OPTIONS'] ?? '').split(/\s+/).some((flag) => SEMI_SPACE_FLAG.test(flag))
  );
}

/**
 * Re-launches this process with the flags `LIGHTPORT_SEMI_SPACE_MB` asks for, unless there are
 * none, they (or a user's own semi-space flags) are already there, or the platform has no
 * `process.execve` (Windows; Node before 22.15), where the variable is ignored. Returns only when
 * nothing was done.
 */
export function relaunchWithServingFlags(): void {
  const flags = servingNodeFlags();
  if (flags.length === 0 || semiSpaceChosen(process.execArgv, process.env) || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
