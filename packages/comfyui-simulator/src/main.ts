import { parseArgs } from 'node:util';
import { CUSTOM_NODE_PACK_NAMES, isCustomNodePack, type CustomNodePack } from './nodes/custom-node-packs';
import { startSimulator } from './start-simulator';

const HELP = `Usage: tsx packages/comfyui-simulator/src/main.ts [options]

A stand-in for a ComfyUI server (HTTP + WebSocket protocol, no GPU).

Options:
  --port N          port to listen on (env SIM_PORT, default 8188; 0 = any free port)
  --host HOST       address to bind (default 127.0.0.1)
  --step-ms N       time per sampler step in ms (env SIM_STEP_MS, default 50)
  --output-dir DIR  where SaveImage writes (default: a fresh temp dir)
  --input-dir DIR   where uploads and LoadImage live (default: a fresh temp dir)
  --custom-nodes LIST
                    custom node packs to install, comma-separated (env SIM_CUSTOM_NODES; default none,
                    like a stock ComfyUI). Known: ipadapter (ComfyUI_IPAdapter_plus: IPAdapterUnifiedLoader,
                    IPAdapter). An unknown name exits with status 2
  --checkpoints LIST
                    checkpoint files it has, comma-separated (env SIM_CHECKPOINTS; default
                    anime-v1.safetensors,sd_xl_base_1.0.safetensors)
  --loras LIST      LoRA files it has, comma-separated (env SIM_LORAS; default
                    style/inkwash.safetensors,kai-nakamura.safetensors; "" = none)
  -h, --help        show this help

Test hooks: POST /sim/fail-next {"kind":"execution_error","message":"..."} fails the next prompt;
GET /sim/uploads lists every successful /upload/image with the sha256 of its bytes;
GET /sim/controls lists every POST /queue and POST /interrupt with its body;
a CLIPTextEncode text containing __sim_execution_error__ fails its sampler.`;

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    console.error(`${name} must be a non-negative integer`);
    process.exit(2);
  }
  return parsed;
}

function customNodes(value: string | undefined): CustomNodePack[] {
  const names = (value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !isCustomNodePack(name));
  if (unknown.length > 0) {
    console.error(`--custom-nodes: unknown custom node pack(s) ${unknown.join(', ')} (known: ${CUSTOM_NODE_PACK_NAMES.join(', ')})`);
    process.exit(2);
  }
  return names as CustomNodePack[];
}

/** A comma-separated list; undefined keeps the simulator's default, an empty string means none. */
function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'step-ms': { type: 'string' },
      'output-dir': { type: 'string' },
      'input-dir': { type: 'string' },
      'custom-nodes': { type: 'string' },
      checkpoints: { type: 'string' },
      loras: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const simulator = await startSimulator({
    port: integer(values.port ?? process.env.SIM_PORT, '--port', 8188),
    host: values.host,
    stepMs: integer(values['step-ms'] ?? process.env.SIM_STEP_MS, '--step-ms', 50),
    outputDir: values['output-dir'],
    inputDir: values['input-dir'],
    customNodes: customNodes(values['custom-nodes'] ?? process.env.SIM_CUSTOM_NODES),
    checkpoints: list(values.checkpoints ?? process.env.SIM_CHECKPOINTS),
    loras: list(values.loras ?? process.env.SIM_LORAS),
    log: (line) => console.error(line),
  });
  console.log(`comfyui-simulator listening on ${simulator.url}`);
  const stop = (signal: string) => {
    console.log(`comfyui-simulator stopping (${signal})`);
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
