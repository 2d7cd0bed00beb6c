import { Command, CommanderError } from 'commander';
import { ApiClient } from './api-client';
import { CliError, oneLine } from './cli-error';
import { configDir, resolveConnection } from './connection';
import { backendsCommand, charactersCommand, queuesCommand } from './commands/listings';
import type { CommandContext } from './commands/context';
import { generateCommand } from './commands/generate';
import { cancelCommand, jobsCommand, retryCommand, showCommand } from './commands/jobs';

const program = new Command('anime')
  .description('The anime production system from the command line (pnpm anime <command>).')
  .option('--url <url>', 'the gateway (default ANIME_URL or http://127.0.0.1:8080)')
  .option('--key-file <path>', `a file holding the API key (default ANIME_API_KEY, else ${configDir()}/api-key)`)
  .option('--json', 'print JSON instead of text')
  .showHelpAfterError('(anime --help lists the commands)')
  .exitOverride();

const context: CommandContext = {
  api: () => new ApiClient(resolveConnection(program.opts())),
  json: () => Boolean(program.opts().json),
};
for (const make of [generateCommand, jobsCommand, showCommand, cancelCommand, retryCommand, charactersCommand, backendsCommand, queuesCommand]) {
  const command = make(context);
  program.addCommand(command.exitOverride().showHelpAfterError(`(anime ${command.name()} --help for its options)`));
}

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors 2 (commander already printed them).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      if (context.json() && error.body !== undefined) console.log(JSON.stringify(error.body, null, 2));
      console.error(`anime: ${oneLine(error.message)}`);
      return error.exitCode;
    }
    console.error(`anime: ${oneLine((error as Error).message)}`);
    return 1;
  }
}

void main().then((code) => process.exit(code));
