import { freemem, totalmem } from 'node:os';

const VRAM_TOTAL = 25_757_220_864;

/** /system_stats in the captured server's shape, describing a pretend 24 GB CUDA card. */
export function systemStats(host: string, port: number): Record<string, unknown> {
  const vramFree = VRAM_TOTAL - 1_073_741_824;
  return {
    system: {
      os: process.platform,
      ram_total: totalmem(),
      ram_free: freemem(),
      comfyui_version: '0.8.0',
      required_frontend_version: '1.35.9',
      installed_templates_version: null,
      required_templates_version: '0.7.67',
      python_version: '3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]',
      pytorch_version: '2.8.0+cu128',
      embedded_python: false,
      argv: ['main.py', '--listen', host, '--port', String(port)],
    },
    devices: [
      {
        name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync (simulated)',
        type: 'cuda',
        index: 0,
        vram_total: VRAM_TOTAL,
        vram_free: vramFree,
        torch_vram_total: 2_147_483_648,
        torch_vram_free: 1_073_741_824,
      },
    ],
  };
}
