import { parseArgs } from 'node:util';
import { isPreviewMethod, PREVIEW_METHODS, type PreviewMethod } from './execution/latent-preview';
import { CUSTOM_NODE_PACK_NAMES, isCustomNodePack, type CustomNodePack } from './nodes/custom-node-packs';
import { COMFYUI_VERSIONS, DEFAULT_COMFYUI_VERSION, isComfyuiVersion, type ComfyuiVersion } from './server-profile';
import { startSimulator } from './start-simulator';

const HELP = `Usage: node packages/comfyui-simulator/dist/main.js [options]  (or tsx packages/comfyui-simulator/src/main.ts)

A stand-in for a ComfyUI server (HTTP + WebSocket protocol, no GPU).

Options:
  --port N          port to listen on (env SIM_PORT, default 8188; 0 = any free port)
  --host HOST       address to bind (default 127.0.0.1)
  --step-ms N       time per sampler step in ms (env SIM_STEP_MS, default 50)
  --preview-method M
                    ComfyUI's --preview-method (env SIM_PREVIEW_METHOD): none (its default) sends no
                    preview; auto, latent2rgb or taesd make each sampler step send a JPEG as a binary
                    WebSocket frame (format 4 to a socket that negotiated supports_preview_metadata,
                    else format 1). An unknown method exits with status 2
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
  --comfyui-version V
                    which real ComfyUI to answer as (env SIM_COMFYUI_VERSION; default 0.3.64). Known:
                    0.3.64 (the server issue 14 reports against): system_stats says 0.3.64, no
                      extra_data.create_time, empty answers carry no Content-Type, and with one cached and
                      one new output node the new node's executed comes before the cached node's replay;
                    0.8.0 (the server the captures were recorded from): system_stats says 0.8.0,
                      extra_data.create_time is stamped, empty answers are application/octet-stream, and
                      the cached output's replay comes first.
                    An unknown version exits with status 2
  -h, --help        show this help

Test hooks: POST /sim/fail-next {"kind":"execution_error","message":"..."} fails the next prompt;
GET /sim/uploads lists every successful /upload/image with the sha256 of its bytes;
GET /sim/prompts lists every accepted POST /prompt (prompt_id, client_id, graph);
GET /sim/progress lists every progress message sent (prompt id, node, value, max, epoch ms sent);
GET /sim/controls lists every POST /queue (whose body is a JSON object) and POST /interrupt with its body;
POST /sim/models {"checkpoints":[...],"loras":[...]} replaces the model files it has (a list left out stays),
as files added to or deleted from a running ComfyUI's models folders;
POST /sim/hang makes the next node to start not return (its prompt stays running, interrupts are not
honoured, nothing behind it runs: a stuck node or a dead worker thread), POST /sim/hang {"release":true} lets it go on
(prompts, uploads and controls: the newest 10,000 of each, as ComfyUI keeps 10,000 history items);
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

function comfyuiVersion(value: string | undefined): ComfyuiVersion {
  if (value === undefined || value === '') return DEFAULT_COMFYUI_VERSION;
  if (!isComfyuiVersion(value)) {
    console.error(`--comfyui-version: unknown version ${value} (known: ${COMFYUI_VERSIONS.join(', ')})`);
    process.exit(2);
  }
  return value;
}

function previewMethod(value: string | undefined): PreviewMethod {
  if (value === undefined || value === '') return 'none';
  if (!isPreviewMethod(value)) {
    console.error(`--preview-method: unknown method ${value} (known: ${PREVIEW_METHODS.join(', ')})`);
    process.exit(2);
  }
  return value;
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
      'preview-method': { type: 'string' },
      'output-dir': { type: 'string' },
      'input-dir': { type: 'string' },
      'custom-nodes': { type: 'string' },
      checkpoints: { type: 'string' },
      loras: { type: 'string' },
      'comfyui-version': { type: 'string' },
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
    previewMethod: previewMethod(values['preview-method'] ?? process.env.SIM_PREVIEW_METHOD),
    outputDir: values['output-dir'],
    inputDir: values['input-dir'],
    customNodes: customNodes(values['custom-nodes'] ?? process.env.SIM_CUSTOM_NODES),
    checkpoints: list(values.checkpoints ?? process.env.SIM_CHECKPOINTS),
    loras: list(values.loras ?? process.env.SIM_LORAS),
    comfyuiVersion: comfyuiVersion(values['comfyui-version'] ?? process.env.SIM_COMFYUI_VERSION),
    log: (line) => console.error(line),
  });
  console.log(`comfyui-simulator listening on ${simulator.url} (ComfyUI ${simulator.comfyuiVersion})`);
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
