// npm run services:up|down|status [-- name ...]: the real services the tests talk to, without Docker.

import { allServices, bringUp, selectServices } from './all-services.ts';
import type { ServiceStatus } from './service.ts';

function printTable(rows: readonly ServiceStatus[]): void {
  const lines = rows.map((row) => [
    row.name,
    row.up ? 'up' : 'DOWN',
    row.address,
    row.version ?? '-',
    row.detail ?? '',
  ]);
  const header = ['service', 'state', 'address', 'version', 'detail'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<number> {
  const [command, ...names] = process.argv.slice(2);
  const services = selectServices(names);
  switch (command) {
    case 'up': {
      const started = Date.now();
      await bringUp(services);
      console.log(`services up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      printTable(await Promise.all(services.map((service) => service.status())));
      return 0;
    }
    case 'down':
      for (const service of [...services].reverse()) await service.down();
      return 0;
    case 'status': {
      const rows = await Promise.all(services.map((service) => service.status()));
      printTable(rows);
      return rows.every((row) => row.up) ? 0 : 1;
    }
    default:
      console.error(
        `usage: services:up|down|status [service ...]\nservices: ${allServices.map((s) => s.name).join(', ')}`,
      );
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
