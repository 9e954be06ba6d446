import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface PinningPlan {
  /** taskset CPU list for the proxy under test (bare proxy and gateway), or undefined: no pinning. */
  proxies: string | undefined;
  /** taskset CPU list for the load generator and the fake upstream. */
  drivers: string | undefined;
  description: string;
}

function tasksetWorks(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let plan: PinningPlan | undefined;

/**
 * The proxy under test gets a core of its own and the load generator and upstream share the rest.
 * Unpinned on two cores, the three processes fight over both and CPU per request swings by ±25%
 * from run to run; pinned, the proxy's work is no longer shaped by where the scheduler put it.
 * Planned once per bench process: once it has pinned itself to the drivers' cores, the cores it
 * may use are no longer the machine's, and a later suite's plan would put everything on them.
 */
export function planPinning(): PinningPlan {
  plan ??= makePlan();
  return plan;
}

function makePlan(): PinningPlan {
  const cores = availableParallelism();
  if (process.env['BENCH_PIN'] === '0' || cores < 2 || !tasksetWorks()) {
    return { proxies: undefined, drivers: undefined, description: 'not pinned' };
  }
  const last = cores - 1;
  const drivers = last === 1 ? '0' : `0-${last - 1}`;
  return { proxies: String(last), drivers, description: `proxies on CPU ${last}, load generator and upstream on ${drivers}` };
}

/** Pins every thread of this process. */
export function pinThisProcess(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}
