/**
 * V8 settings for a serving gateway, and the re-launch that applies them.
 *
 * Unset, `LIGHTPORT_SEMI_SPACE_MB` puts a ceiling of 16 MB on each of V8's two young-generation
 * semi-spaces, Node 20's own ceiling. Node 24 lets them grow to 64 MB on a machine with a large
 * heap limit, and a gateway gets there at start-up (the tokenizer's tables survive the young
 * collections that build them); V8 then gives the memory back at full collections and takes it
 * again under load, one page fault at a time. Where faults are dear (measured here, a Firecracker
 * VM: about 17 µs each) a gateway with token limits spent some 4% of its CPU on them, 0.2 faults
 * per request; with the ceiling, 0.003. Under the ceiling Node still starts small and grows.
 *
 * `LIGHTPORT_SEMI_SPACE_MB=N` fixes the semi-spaces at N MB instead. A fixed 32 MB made plain
 * requests 15–22% cheaper in CPU (bench/heap-tuning.ts) but streamed chunks through the
 * translators 25–45% dearer (bench/translators.ts), so it is a choice for the operator. `0` keeps
 * Node's defaults. Node takes `--min-semi-space-size` only on its command line (not in
 * NODE_OPTIONS), and setting either after start-up is too late, so `lightport start` replaces
 * itself, same process id, with a Node that has them.
 */

/** Semi-space size in MB: unset, a ceiling of DEFAULT_CEILING_MB; `0`, Node's defaults; N, fixed at N. */
export const SEMI_SPACE_ENV = 'LIGHTPORT_SEMI_SPACE_MB';
const DEFAULT_CEILING_MB = 16;
const LARGEST_SEMI_SPACE_MB = 1024;
const SEMI_SPACE_FLAG = /^--(?:min|max)[-_]semi[-_]space[-_]size\b/;

/** The Node flags `LIGHTPORT_SEMI_SPACE_MB` asks for (none when 0); throws on a bad setting. */
export function servingNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const setting = env[SEMI_SPACE_ENV]?.trim();
  if (setting === undefined || setting === '') return [`--max-semi-space-size=${DEFAULT_CEILING_MB}`];
  const megabytes = Number(setting);
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
 * Re-launches this process with the flags `LIGHTPORT_SEMI_SPACE_MB` asks for (by default the
 * ceiling), unless there are none, they (or a user's own semi-space flags) are already there, or the platform has no
 * `process.execve` (Windows; Node before 22.15), where the variable is ignored. Returns only when
 * nothing was done.
 */
export function relaunchWithServingFlags(): void {
  const flags = servingNodeFlags();
  if (flags.length === 0 || semiSpaceChosen(process.execArgv, process.env) || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
