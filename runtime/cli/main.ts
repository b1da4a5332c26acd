// The `kafki` command line: `standalone`, `worker` and `connectors …`. runCli returns the exit
// code instead of exiting so tests can drive it; bin/kafki calls it with the real process.

import { Command, CommanderError } from 'commander';
import { errorMessage, KafkiError } from '../api/errors.ts';
import { connectorsCommand } from './connectors-command.ts';
import { exitCodes, type CliIo } from './io.ts';
import { RestClientError } from './rest-client.ts';
import {
  standaloneCommand,
  workerCommand,
  type LoadedWorkerConfig,
  type StandaloneDependencies,
} from './standalone-command.ts';

export async function runCli<C extends LoadedWorkerConfig>(
  argv: readonly string[],
  io: CliIo,
  standalone: StandaloneDependencies<C>,
): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const program = new Command('kafki')
    .description('Kafki: change-data-capture connectors with the Kafka Connect REST API')
    .showHelpAfterError();
  program.addCommand(standaloneCommand(standalone, io, setExit));
  program.addCommand(workerCommand(standalone, io, setExit));
  program.addCommand(connectorsCommand(io));
  // Commands built on their own do not inherit these settings from the program: apply them to all.
  const configure = (command: Command): void => {
    command
      .exitOverride()
      .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
    command.commands.forEach(configure);
  };
  configure(program);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors (unknown command, missing argument) exit 2.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (error instanceof RestClientError) {
      io.err(
        error.status > 0
          ? `Error (HTTP ${error.status}): ${error.message}`
          : `Error: ${error.message}`,
      );
      return exitCodes.failed;
    }
    io.err(`Error: ${errorMessage(error)}`);
    if (!(error instanceof KafkiError) && error instanceof Error && error.stack)
      io.err(error.stack);
    return exitCodes.failed;
  }
}
