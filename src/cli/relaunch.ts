/**
 * The V8 settings a serving gateway runs with, and the re-launch that applies them.
 *
 * A gateway keeps tens of kilobytes of short-lived objects per request in flight. With Node's
 * default young generation (it starts at 1 MB and grows only under pressure) those objects are
 * copied by scavenges again and again and many are promoted, and the process spends about a sixth
 * more CPU per request than with a fixed 32 MB semi-space (bench/heap-tuning.ts). Node accepts the
 * semi-space flags only on its command line (not in NODE_OPTIONS, and setting them after start-up
 * is too late), so `lightport start` replaces itself, same process id, with a Node that has them.
 */

/** Semi-space size in MB; `LIGHTPORT_SEMI_SPACE_MB=0` keeps Node's defaults. */
export const SEMI_SPACE_ENV = 'LIGHTPORT_SEMI_SPACE_MB';
const DEFAULT_SEMI_SPACE_MB = 32;
const LARGEST_SEMI_SPACE_MB = 1024;
const SEMI_SPACE_FLAG = /^--(?:min|max)[-_]semi[-_]space[-_]size\b/;

/** The Node flags to serve with, or an empty list to keep Node's defaults; throws on a bad setting. */
export function servingNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const setting = env[SEMI_SPACE_ENV]?.trim();
  const megabytes = setting === undefined || setting === '' ? DEFAULT_SEMI_SPACE_MB : Number(setting);
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
 * Re-launches this process with the serving flags, unless they (or a user's own semi-space flags)
 * are already there, or the platform has no `process.execve` (Windows; Node before 22.15), where
 * the gateway runs on Node's defaults. Returns only when nothing was done.
 */
export function relaunchWithServingFlags(): void {
  const flags = servingNodeFlags();
  if (flags.length === 0 || semiSpaceChosen(process.execArgv, process.env) || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
