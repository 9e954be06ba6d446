import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO_ROOT, 'bin', 'lightport.js');

export interface GatewayProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far, stdout then stderr. */
  output(): { stdout: string; stderr: string };
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** YAML text of the config, written to a temporary file. */
  readonly config?: string;
  readonly args?: readonly string[];
  /** The exact command-line arguments, instead of `start --port 0 --config ...`. */
  readonly rawArgs?: readonly string[];
  /** Flags for node itself, before the script. */
  readonly nodeArgs?: readonly string[];
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** How long to wait for "listening" (default 15 s). */
  readonly readyTimeoutMs?: number;
}

export function writeTempConfig(yaml: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'lightport-test-'));
  const file = join(directory, 'lightport.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Starts `lightport start` as users do (the built bin), on a free port, and waits until it listens. */
export async function startGateway(options: StartOptions = {}): Promise<GatewayProcess> {
  const args = options.rawArgs ?? [
    'start',
    '--port',
    '0',
    ...(options.config === undefined ? [] : ['--config', writeTempConfig(options.config)]),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time:\n${stderr}`)), options.readyTimeoutMs ?? 15_000);
    const check = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${stderr}`));
    });
  });

  return {
    url,
    child,
    output: () => ({ stdout, stderr }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI to completion. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
