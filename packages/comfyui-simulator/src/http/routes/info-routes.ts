import { posix } from 'node:path';
import { objectInfo } from '../../nodes/object-info';
import type { SimulatorState } from '../../simulator-state';
import { SERVER_FEATURES } from '../../ws/server-features';
import { sendEmpty, sendJson, sendText } from '../respond';
import type { Router } from '../router';
import { systemStats } from '../system-stats';

/** The model folder keys a stock install reports; only checkpoints and loras hold files here. */
const MODEL_FOLDERS = [
  'checkpoints', 'configs', 'loras', 'vae', 'text_encoders', 'diffusion_models', 'clip_vision', 'style_models', 'embeddings',
  'diffusers', 'vae_approx', 'controlnet', 'gligen', 'upscale_models', 'latent_upscale_models', 'custom_nodes',
  'hypernetworks', 'photomaker', 'classifiers', 'model_patches', 'audio_encoders',
];

export function addInfoRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/', (_req, res) => sendText(res, 200, '<!doctype html><title>ComfyUI simulator</title>', 'text/html; charset=utf-8'));
  router.add('GET', '/system_stats', (_req, res) => sendJson(res, 200, systemStats(state.host, state.port, state.profile)));
  router.add('GET', '/features', (_req, res) => sendJson(res, 200, SERVER_FEATURES));
  router.add('GET', '/object_info', (_req, res) => sendJson(res, 200, objectInfo(state.env)));
  router.add('GET', '/object_info/:className', (_req, res, { params }) => sendJson(res, 200, objectInfo(state.env, params.className)));
  router.add('GET', '/embeddings', (_req, res) => sendJson(res, 200, []));
  router.add('GET', '/models', (_req, res) => sendJson(res, 200, MODEL_FOLDERS));
  router.add('GET', '/models/:folder', (_req, res, { params }) => {
    if (!MODEL_FOLDERS.includes(params.folder)) {
      sendEmpty(res, 404, state.profile.emptyBodyContentType);
      return;
    }
    const files: Record<string, string[]> = { checkpoints: state.env.checkpoints, loras: state.env.loras };
    sendJson(res, 200, files[params.folder] ?? []);
  });

  // A .safetensors file's __metadata__ (server.view_metadata). 404 without a filename, for another
  // extension, an unknown folder, a file that isn't there (folder_paths.get_full_path gives None) or
  // a header without __metadata__. The simulator's models are names without files: each known
  // checkpoint and LoRA answers the {"format": "pt"} that safetensors files saved from PyTorch carry.
  router.add('GET', '/view_metadata/:folder', (_req, res, { params, query }) => {
    const filename = query.get('filename');
    const files: Record<string, string[]> = { checkpoints: state.env.checkpoints, loras: state.env.loras };
    // get_full_path: os.path.relpath(os.path.join("/", filename), "/") before looking in the folder.
    const relative = filename === null ? '' : posix.normalize(`/${filename}`).slice(1);
    if (filename === null || !filename.endsWith('.safetensors') || !(files[params.folder] ?? []).includes(relative)) {
      sendEmpty(res, 404, state.profile.emptyBodyContentType);
      return;
    }
    sendJson(res, 200, { format: 'pt' });
  });
}
