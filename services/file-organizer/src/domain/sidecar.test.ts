import type { GenerationRow } from '@anime/pipeline';
import { sidecarBytes, type SidecarInput } from './sidecar';

describe('sidecarBytes', () => {
  it("when the backend's URL holds credentials (COMFYUI_URLS), then the sidecar, read by whoever reads the library, names it with *** in their place", () => {
    const input = {
      job: { id: 'job-1', outfit: null, request: { character: 'kai', prompt: 'x' }, seed: BigInt(7) } as unknown as GenerationRow,
      version: { number: 1, character: { id: 'c1', slug: 'kai', name: 'Kai' } },
      conditioning: { positive: 'p', negative: 'n', loras: [] },
      template: null,
      workflow: {},
      metadata: { outfit: null, references: [], comfyui: { backend: 'http://comfy:Pr0xyPw@gpu-1:8188', promptId: 'p-1', filename: 'a.png', subfolder: '', type: 'output' } },
      path: 'default/ep00/sc000/kai/kai_v1_job-1_00.png',
      sha256: 'a'.repeat(64),
      bytes: 10,
      image: { width: 64, height: 64, mime: 'image/png' },
    } as unknown as SidecarInput;
    const sidecar = JSON.parse(sidecarBytes(input).toString('utf8'));
    expect(JSON.stringify(sidecar)).not.toContain('Pr0xyPw');
    expect(sidecar.comfyui).toEqual({ backend: 'http://***@gpu-1:8188', promptId: 'p-1', filename: 'a.png', subfolder: '', type: 'output' });
  });
});
