import { spawn, type ChildProcess } from 'node:child_process';

export interface RunningServer {
  name: string;
  /** Origin to send requests to, e.g. http://127.0.0.1:41234 */
  origin: string;
  pid: number;
  /** The last lines the process printed, for error reports. */
  recentOutput(): string;
  stop(): Promise<void>;
}

export interface SpawnServerOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readyTimeoutMs?: number;
  /** CPU list for taskset, e.g. "1"; taskset execs node, so the pid stays node's. */
  cpus?: string;
  /** A command that runs node, in front of it (e.g. valgrind and its options); the pid is the wrapper's. */
  wrapper?: readonly string[];
}

const listeningLine = /listening on (https?:\/\/\S+)/;
const TAIL_CHARACTERS = 16 * 1024;
const liveChildren = new Set<ChildProcess>();

// Last resort when the bench dies without cleaning up: no child outlives it.
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Wildcard listen addresses are not connectable; use loopback instead. */
function connectableOrigin(printed: string): string {
  const url = new URL(printed.replace(/[.,;)]+$/, ''));
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]' || url.hostname === '::') url.hostname = '127.0.0.1';
  return url.origin;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts `node <args>` and resolves once it prints `listening on http://HOST:PORT` on stdout or stderr. */
export function spawnServer(name: string, args: string[], options: SpawnServerOptions = {}): Promise<RunningServer> {
  const node = [...(options.wrapper ?? []), process.execPath, ...args];
  const [command, ...commandArgs] = (options.cpus ? ['taskset', '-c', options.cpus, ...node] : node) as [string, ...string[]];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));

  // What the process printed last, for error reports. Until it is listening its output is read line
  // by line; after that only the tail is kept, as raw text: a gateway logging every request would
  // otherwise have the load generator split and match thousands of lines a second on its own core,
  // slowing the load it drives (and so changing the very CPU per request being measured).
  let tail = '';
  const keep = (text: string): void => {
    tail = tail.length + text.length > TAIL_CHARACTERS * 2 ? (tail + text).slice(-TAIL_CHARACTERS) : tail + text;
  };
  const recentOutput = (): string => tail.slice(-TAIL_CHARACTERS).split('\n').slice(-30).join('\n');
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 3000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 1000);
    }
  };

  return new Promise((resolve, reject) => {
    let ready = false;
    const fail = (reason: string): void => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${name}: ${reason}\n${recentOutput()}`)));
    };
    const timer = setTimeout(() => fail('did not print "listening on" in time'), options.readyTimeoutMs ?? 20_000);

    let pending = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      keep(text);
      if (ready) return;
      pending += text;
      let newline = pending.indexOf('\n');
      while (newline !== -1 && !ready) {
        const match = listeningLine.exec(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        if (!match?.[1] || child.pid === undefined) continue;
        ready = true;
        pending = '';
        clearTimeout(timer);
        resolve({ name, origin: connectableOrigin(match[1]), pid: child.pid, recentOutput, stop });
      }
    };
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', onData);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
  });
}
