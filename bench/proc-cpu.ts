import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function readClockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

export const clockTicksPerSecond = readClockTicksPerSecond();

/** The fields of /proc/<pid>/stat after the command name, so field N of proc(5) is at N - 3. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses; fields are counted after its closing ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of one process (all its threads), from /proc/<pid>/stat, in seconds. */
function statSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/**
 * Minor page faults of one process so far (field 10 of proc(5)): each is a page of memory touched
 * for the first time since it was mapped, and in a VM whose memory the host backs lazily each
 * costs tens of microseconds, enough to show in CPU per request.
 */
export function minorFaults(pid: number): number {
  return Number(statFields(pid)[7]);
}

/**
 * Time on CPU of all threads of one process, from each thread's schedstat, in seconds. It agrees
 * with utime + stime over long runs but has nanosecond resolution instead of 10 ms ticks, which
 * lets the bench alternate many short samples instead of a few long ones.
 */
function schedstatSeconds(pid: number): number {
  let nanoseconds = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    nanoseconds += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  }
  return nanoseconds / 1e9;
}

function schedstatWorks(): boolean {
  try {
    return Number.isFinite(schedstatSeconds(process.pid));
  } catch {
    return false;
  }
}

export const cpuClock = schedstatWorks() ? 'schedstat (ns)' : `stat utime+stime (1/${clockTicksPerSecond} s)`;
const ownSeconds = schedstatWorks() ? schedstatSeconds : statSeconds;

function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(' ')
        .filter((s) => s !== '')
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** CPU seconds used so far by a process and every live descendant (a gateway may fork workers). */
export function processTreeCpuSeconds(pid: number): number {
  let seconds = 0;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    try {
      seconds += ownSeconds(next);
    } catch {
      continue; // exited between listing and reading
    }
    pending.push(...childPids(next));
  }
  return seconds;
}
