import { parseArgs } from 'node:util';
import { runFrom, runProgram, staleBuildSource, type Stack } from '@anime/stack';
import { withLocalDefaults } from './default-env';
import { runStack, stackPortProblem } from './run-stack';
import { shownUrl, stackReadyLine } from './stack-lines';

const HELP = `usage: pnpm start

Applies the migrations (the db:migrate program, once), then starts gateway, character,
orchestrator and file-organizer (and the ComfyUI simulator on SIMULATOR_PORT when COMFYUI_URLS is
empty) in the foreground, each ready once its /readyz answers. Runs the compiled programs
(pnpm build first); STACK_RUN_FROM=sources runs the TypeScript through tsx instead.

A service that exits unexpectedly is reported and restarted after 1 s, 2 s, 4 s…; one failing
5 times within 60 s stops the whole stack, which exits 1. Ctrl-C or SIGTERM stops everything
cleanly (exit 0).

Ports: PORT (gateway, 8080), CHARACTER_PORT (8081), ORCHESTRATOR_PORT (8082),
FILE_ORGANIZER_PORT (8083), SIMULATOR_PORT (8188).`;

function fail(message: string): never {
  console.error(`start failed: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let help: boolean | undefined;
  try {
    ({ values: { help } } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    // A mistyped flag must not start the stack (and migrate a database) it was meant to ask about.
    console.error(`start: ${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (help) {
    console.log(HELP);
    return;
  }
  const env = withLocalDefaults();
  const stale = runFrom() === 'dist' ? staleBuildSource() : null;
  if (stale) console.error(`warning: ${stale} changed after the last pnpm build; this runs the older build (run pnpm build)`);
  const problem = await stackPortProblem(env);
  if (problem) fail(problem);

  let stack: Stack | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    await stack?.stop();
    process.exit(code);
  };
  // A signal while starting stops the stack as soon as the start returns (or fails).
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    if (stack) void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  console.log(`applying migrations to ${shownUrl(env.DATABASE_URL!, '(DATABASE_URL)')} (running ${runFrom()})`);
  const migrated = await runProgram('db:migrate', [], { DATABASE_URL: env.DATABASE_URL });
  if (migrated !== 0) fail(`db:migrate exited with code ${migrated}`);
  if (signalled) process.exit(0);

  stack = (
    await runStack((line) => console.log(line), {
      env,
      supervise: { report: (line) => console.error(line) },
    })
  ).stack;
  console.log(`\n${stackReadyLine(stack.gatewayUrl, stack.comfyUrls)}\n`);
  if (signalled) return void stop(0);
  void stack.supervisor!.gaveUp.then((giveUp) => {
    console.error(`[supervisor] ${giveUp.service} failed ${giveUp.failures} times (last: ${giveUp.reason}): stopping the stack`);
    void stop(1);
  });
}

main().catch((error) => fail((error as Error).message));
