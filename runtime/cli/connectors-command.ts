// `kafki connectors …`: drive a worker's REST API (Kafki's or Kafka Connect's) from the terminal
// and print readable tables. Every subcommand is one or two REST calls.

import { Command, Option } from 'commander';
import type { ConnectorInfo, ConnectorStateInfo } from '../herder/herder.ts';
import { loadConnectorConfigFile } from '../config/connector-config-file.ts';
import type { CliIo } from './io.ts';
import { RestClient } from './rest-client.ts';
import { firstLine, formatTable } from './table.ts';

interface ClientOptions {
  url: string;
  token?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  json?: boolean;
}

const path = (name: string): string => `/connectors/${encodeURIComponent(name)}`;

export function formatStatus(status: ConnectorStateInfo): string {
  const lines = [
    `Connector: ${status.name}`,
    `Type:      ${status.type}`,
    `State:     ${status.connector.state}`,
    `Worker:    ${status.connector.worker_id}`,
  ];
  if (status.connector.trace) lines.push(`Trace:     ${firstLine(status.connector.trace)}`);
  lines.push('');
  if (status.tasks.length === 0) {
    lines.push('No tasks.');
  } else {
    const rows = [...status.tasks]
      .sort((a, b) => a.id - b.id)
      .map((task) => [String(task.id), task.state, task.worker_id, firstLine(task.trace)]);
    lines.push(formatTable(['TASK', 'STATE', 'WORKER', 'TRACE'], rows));
  }
  return lines.join('\n');
}

interface Expanded {
  status?: ConnectorStateInfo;
  info?: ConnectorInfo;
}

export function formatList(expanded: Record<string, Expanded>): string {
  const names = Object.keys(expanded).sort();
  if (names.length === 0) return 'No connectors.';
  const rows = names.map((name) => {
    const { status, info } = expanded[name] ?? {};
    const tasks = status?.tasks ?? [];
    const running = tasks.filter((task) => task.state === 'RUNNING').length;
    return [
      name,
      status?.type ?? info?.type ?? '',
      status?.connector.state ?? '',
      `${running}/${tasks.length}`,
      info?.config['connector.class'] ?? '',
      status?.connector.worker_id ?? '',
    ];
  });
  return formatTable(['NAME', 'TYPE', 'STATE', 'TASKS RUNNING', 'CLASS', 'WORKER'], rows);
}

export function connectorsCommand(io: CliIo): Command {
  const command = new Command('connectors')
    .description("manage connectors through a worker's REST API")
    .addOption(
      new Option('--url <url>', 'REST URL of a worker')
        .env('KAFKI_URL')
        .default('http://127.0.0.1:8083'),
    )
    .addOption(
      new Option('--token <token>', 'bearer token (rest.auth.token of the worker)').env(
        'KAFKI_TOKEN',
      ),
    )
    .option('--cacert <file>', 'PEM CA bundle to verify an https worker with')
    .option('--cert <file>', 'PEM client certificate, for workers that require mutual TLS')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--json', 'print the JSON the worker answered instead of tables');

  const client = (sub: Command): { rest: RestClient; options: ClientOptions } => {
    const options = sub.optsWithGlobals<ClientOptions>();
    return { rest: new RestClient(options), options };
  };
  const printJson = (value: unknown): void => io.out(JSON.stringify(value, null, 2));

  command
    .command('list')
    .description('connectors with their state and task count')
    .action(async (_options: unknown, sub: Command) => {
      const { rest, options } = client(sub);
      const reply = await rest.get<Record<string, Expanded>>(
        '/connectors?expand=status&expand=info',
      );
      if (options.json) printJson(reply.body);
      else io.out(formatList(reply.body));
    });

  command
    .command('create')
    .description('create a connector from a JSON file ({name, config} or a flat config with name)')
    .requiredOption('-f, --file <file>', 'connector definition (.json or .properties)')
    .action(async (options: { file: string }, sub: Command) => {
      const { rest, options: clientOptions } = client(sub);
      const { name, config } = await loadConnectorConfigFile(options.file);
      const reply = await rest.send<ConnectorInfo>('POST', '/connectors', { name, config });
      if (clientOptions.json) printJson(reply.body);
      else {
        const info = reply.body;
        io.out(`Created connector ${info.name} (${info.type}, ${info.tasks.length} task(s)).`);
      }
    });

  command
    .command('status')
    .description('connector state, worker, and one row per task')
    .argument('<name>', 'connector name')
    .action(async (name: string, _options: unknown, sub: Command) => {
      const { rest, options } = client(sub);
      const reply = await rest.get<ConnectorStateInfo>(`${path(name)}/status`);
      if (options.json) printJson(reply.body);
      else io.out(formatStatus(reply.body));
    });

  const lifecycle: Array<[string, string, string, string]> = [
    ['pause', 'pause the connector and its tasks', 'pause', 'Pausing'],
    ['resume', 'resume a paused or stopped connector', 'resume', 'Resuming'],
    ['stop', 'stop the connector and shut its tasks down', 'stop', 'Stopped'],
  ];
  for (const [verb, description, endpoint, done] of lifecycle) {
    command
      .command(verb)
      .description(description)
      .argument('<name>', 'connector name')
      .action(async (name: string, _options: unknown, sub: Command) => {
        const { rest } = client(sub);
        await rest.send('PUT', `${path(name)}/${endpoint}`);
        io.out(`${done} connector ${name}.`);
      });
  }

  command
    .command('restart')
    .description('restart the connector (and with --include-tasks its tasks)')
    .argument('<name>', 'connector name')
    .option('--include-tasks', 'also restart the tasks')
    .option('--only-failed', 'restart only instances that are FAILED')
    .action(
      async (
        name: string,
        options: { includeTasks?: boolean; onlyFailed?: boolean },
        sub: Command,
      ) => {
        const { rest, options: clientOptions } = client(sub);
        const query = `includeTasks=${options.includeTasks === true}&onlyFailed=${options.onlyFailed === true}`;
        const reply = await rest.send<ConnectorStateInfo | undefined>(
          'POST',
          `${path(name)}/restart?${query}`,
        );
        if (clientOptions.json && reply.body) printJson(reply.body);
        else if (reply.body) io.out(`Restarting connector ${name}.\n\n${formatStatus(reply.body)}`);
        else io.out(`Restarted connector ${name}.`);
      },
    );

  command
    .command('delete')
    .description('stop the connector and delete its config')
    .argument('<name>', 'connector name')
    .action(async (name: string, _options: unknown, sub: Command) => {
      const { rest } = client(sub);
      await rest.send('DELETE', path(name));
      io.out(`Deleted connector ${name}.`);
    });

  return command;
}
