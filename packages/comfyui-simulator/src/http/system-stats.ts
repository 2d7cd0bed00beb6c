import { freemem, totalmem } from 'node:os';
import type { ServerProfile } from '../server-profile';

/**
 * /system_stats as the captured server answers it (01_get_system_stats.json): ComfyUI 0.8.0 started
 * with --cpu, so its one device is the CPU, with no index, and its "VRAM" is the machine's RAM
 * (model_management.get_total_memory/get_free_memory on a CPU device read psutil's RAM figures).
 * Only comfyui_version follows the profile (a 0.3.64 reports "0.3.64", reported against 0.3.64 in issue 14);
 * the rest keeps the capture's shape and values.
 */
export function systemStats(host: string, port: number, profile: ServerProfile): Record<string, unknown> {
  const ramTotal = totalmem();
  const ramFree = freemem();
  return {
    system: {
      os: process.platform,
      ram_total: ramTotal,
      ram_free: ramFree,
      comfyui_version: profile.comfyuiVersion,
      required_frontend_version: '1.35.9',
      installed_templates_version: null,
      required_templates_version: '0.7.67',
      python_version: '3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]',
      pytorch_version: '1.13.0a0',
      embedded_python: false,
      argv: ['main.py', '--cpu', '--listen', host, '--port', String(port)],
    },
    devices: [
      {
        name: 'cpu',
        type: 'cpu',
        index: null,
        vram_total: ramTotal,
        vram_free: ramFree,
        torch_vram_total: ramTotal,
        torch_vram_free: ramFree,
      },
    ],
  };
}
