import { Command, CommanderError } from 'commander';
import { ApiClient } from './api-client';
import { CliError, oneLine } from './cli-error';
import { configDir, resolveConnection } from './connection';
import { assetsCommand } from './commands/assets';
import { characterCommand } from './commands/character';
import { downloadCommand } from './commands/download';
import { backendsCommand, charactersCommand, queuesCommand } from './commands/listings';
import { drainCommand, pauseCommand, resumeCommand, undrainCommand } from './commands/operations';
import { deliveriesCommand, webhooksCommand } from './commands/webhooks';
import type { CommandContext } from './commands/context';
import { generateCommand } from './commands/generate';
import { cancelCommand, jobsCommand, retryCommand, showCommand } from './commands/jobs';
import { invocationDirectory } from './invocation-directory';

const program = new Command('anime')
  .description('The anime production system from the command line (pnpm anime <command>).')
  .option('--url <url>', 'the gateway (default ANIME_URL or http://127.0.0.1:8080)')
  .option('--key-file <path>', `a file holding the API key (default ANIME_API_KEY_FILE, else ${configDir()}/api-key; ANIME_API_KEY, when set and no --key-file is given, is used instead)`)
  .option('--json', 'print JSON instead of text')
  .showHelpAfterError('(anime --help lists the commands)')
  .exitOverride();

const context: CommandContext = {
  api: () => new ApiClient(resolveConnection(program.opts())),
  json: () => Boolean(program.opts().json),
};
for (const make of [
  generateCommand, jobsCommand, showCommand, cancelCommand, retryCommand,
  charactersCommand, characterCommand, assetsCommand, downloadCommand,
  backendsCommand, drainCommand, undrainCommand, queuesCommand, pauseCommand, resumeCommand,
  webhooksCommand, deliveriesCommand,
]) {
  const command = make(context);
  program.addCommand(command.exitOverride().showHelpAfterError(`(anime ${command.name()} --help for its options)`));
}

async function main(): Promise<number> {
  try {
    // Relative paths are the user's: `pnpm anime download … -o x.png` typed in a subdirectory writes there, not at the repository's root.
    process.chdir(invocationDirectory());
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
    // An answer of another shape than the gateway's (another server at --url: `{}` for a list) failed
    // where a command read it: said as that, not only as JavaScript's "Cannot read properties of undefined".
    if (error instanceof TypeError) {
      console.error(`anime: the answer is not what this command expects from the gateway (${oneLine(error.message)}); is --url the gateway?`);
      return 1;
    }
    console.error(`anime: ${oneLine((error as Error).message)}`);
    return 1;
  }
}

/** The command's exit code, once it has ended. */
let ended: number | undefined;

// A reader gone (`anime jobs | head -1`, `anime --json generate --watch | head -1`: EPIPE) ends the
// command quietly, the rest of its output dropped: with its own exit code when it had ended, else
// with 141, as SIGPIPE ends other programs. Without this, a --watch cut off threw a stack trace.
// Output that could not be written otherwise (a full disk: ENOSPC) is a failure, said on stderr, exit 1.
function outputFailed(stream: NodeJS.WriteStream, error: NodeJS.ErrnoException): never {
  if (error.code === 'EPIPE') process.exit(ended ?? 141);
  if (stream === process.stdout) process.stderr.write(`anime: cannot write the output (${error.code ?? error.message})\n`);
  process.exit(1);
}
for (const stream of [process.stdout, process.stderr]) stream.on('error', (error: NodeJS.ErrnoException) => outputFailed(stream, error));

/**
 * Exits with `code` once stdout and stderr have handed the OS all that was written to them: writes to
 * a pipe are asynchronous, and exiting at once cut piped output short (`anime --json jobs | jq` got
 * the first 64 KiB, not valid JSON).
 */
function exitOnceWritten(code: number): void {
  ended = code;
  let pending = 2;
  for (const stream of [process.stdout, process.stderr]) {
    // A write that failed before (console.log swallows its error; the stream keeps it) decides the exit, not `code`.
    if (stream.errored) outputFailed(stream, stream.errored);
    stream.write('', () => {
      if (--pending === 0) process.exit(code);
    });
  }
}

void main().then(exitOnceWritten);
