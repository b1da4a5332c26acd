// Redis: the machine's own server (BullMQ queues and cluster membership).

import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { isLocal, serviceAddresses } from './addresses.ts';
import { waitUntilHealthy } from './daemon.ts';
import { ServiceStartError, type ServiceStatus, type TestService } from './service.ts';

async function info(): Promise<{ version: string; evictionPolicy: string }> {
  const client = new Redis(serviceAddresses().redisUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  await client.connect();
  try {
    const server = await client.info('server');
    const policy = (await client.config('GET', 'maxmemory-policy')) as string[];
    return {
      version: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
      evictionPolicy: policy[1] ?? 'unknown',
    };
  } finally {
    client.disconnect();
  }
}

export const redis: TestService = {
  name: 'redis',
  address: () => serviceAddresses().redisUrl,

  async status(): Promise<ServiceStatus> {
    const address = this.address();
    try {
      const { version, evictionPolicy } = await info();
      return {
        name: this.name,
        address,
        up: true,
        version,
        detail: `maxmemory-policy=${evictionPolicy}`,
      };
    } catch (error) {
      return { name: this.name, address, up: false, detail: String(error) };
    }
  },

  async up(): Promise<void> {
    const address = this.address();
    if (
      await info().then(
        () => true,
        () => false,
      )
    )
      return;
    if (!isLocal(address)) throw new ServiceStartError('redis', `unreachable at ${address}`);
    execFileSync('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '-::1',
      '--port',
      '6379',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      '/var/lib/redis',
      '--logfile',
      '/var/log/redis/ci.log',
    ]);
    await waitUntilHealthy('redis', () => info().then(() => true), { timeoutMs: 30_000 });
  },

  async down(): Promise<void> {
    // The machine runs Redis by itself.
  },
};
