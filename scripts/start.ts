import { runStack } from './run-stack';

// `pnpm start`: the whole stack in the foreground; Ctrl-C or SIGTERM stops every process cleanly.
async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('usage: pnpm start\n\nStarts gateway, character, orchestrator and file-organizer (and the ComfyUI simulator when COMFYUI_URLS is empty).');
    return;
  }
  const { stack } = await runStack((line) => console.log(line));
  console.log(`\nstack ready: gateway ${stack.gatewayUrl}, ComfyUI ${stack.comfyUrls.join(', ')}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  console.error(`start failed: ${(error as Error).message}`);
  process.exit(1);
});
