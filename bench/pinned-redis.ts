import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface BenchRedis {
  readonly url: string;
  readonly description: string;
  stop(): Promise<void>;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {}); // not yet listening: the connect below says so
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * The Redis a bench measures against. A shared Redis floats between the cores, and where it lands
 * decides a gateway's CPU per request: on the measured core it takes turns with the gateway (the
 * same run measured 102 and 177 µs per request). So the bench starts its own redis-server on the
 * drivers' cores, beside the load generator and the upstream, as another machine's Redis would be.
 * REDIS_URL, when set, is used as it is; without a redis-server binary, the default local Redis.
 */
export async function startBenchRedis(cpus: string | undefined): Promise<BenchRedis> {
  const given = process.env['REDIS_URL'];
  if (given !== undefined) return { url: given, description: `REDIS_URL (${given})`, stop: async () => {} };
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', ''];
  const child: ChildProcess = cpus
    ? spawn('taskset', ['-c', cpus, 'redis-server', ...args], { stdio: 'ignore' })
    : spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let waited = 0; waited < 5000; waited += 50) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await answers(url)) {
      return {
        url,
        description: `its own redis-server on port ${port}${cpus ? `, CPU ${cpus}` : ''}`,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  return { url: DEFAULT_URL, description: `the local Redis (${DEFAULT_URL}): no redis-server could be started`, stop: async () => {} };
}
