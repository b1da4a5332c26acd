// Every service the tests use, in start order.

import type { TestService } from './service.ts';
import { postgres } from './postgres.ts';
import { mariadb } from './mariadb.ts';
import { redis } from './redis.ts';
import { kafka } from './kafka.ts';
import { elasticsearch } from './elasticsearch.ts';
import { hdfs } from './hdfs.ts';

export const allServices: readonly TestService[] = [
  postgres,
  mariadb,
  redis,
  kafka,
  elasticsearch,
  hdfs,
];

export function selectServices(names: readonly string[]): TestService[] {
  if (names.length === 0) return [...allServices];
  return names.map((name) => {
    const service = allServices.find((candidate) => candidate.name === name);
    if (!service) {
      throw new Error(
        `unknown service "${name}"; known: ${allServices.map((known) => known.name).join(', ')}`,
      );
    }
    return service;
  });
}

/**
 * Prepare one at a time, then start in parallel: JVM start-up dominates and overlaps well.
 * Every failure is reported, not only the first.
 */
export async function bringUp(services: readonly TestService[]): Promise<void> {
  for (const service of services) await service.prepare?.();
  const results = await Promise.allSettled(services.map((service) => service.up()));
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason] : [],
  );
  if (failures.length > 0) {
    throw new AggregateError(
      failures,
      failures
        .map((failure) => (failure instanceof Error ? failure.message : String(failure)))
        .join('\n\n'),
    );
  }
}
