import type { ApiClient } from './api-client';
import { oneLine, printable } from './cli-error';

interface Asset {
  path: string;
  url: string;
  sha256: string;
  width: number;
  height: number;
}

export interface GenerationResource {
  id: string;
  status: string;
  stage?: string;
  progress: { value: number; max: number; node: string | null } | null;
  error: { code: string; message: string } | null;
  character: { slug: string; version: number } | null;
  request: { prompt?: string; project?: string };
  backend: string | null;
  attempts?: { number: number; backend: string; error: { code: string } | null }[];
  assets: Asset[];
  createdAt: string;
  finishedAt: string | null;
}

/** Where each file of a generation landed: its path in the library, and where to download it. */
export function describeAssets(api: ApiClient, generation: GenerationResource): string[] {
  return generation.assets.map((a) => `${a.path}  ${a.width}x${a.height} sha256 ${a.sha256.slice(0, 12)}…  ${api.baseUrl}${a.url}`);
}

export function describeGeneration(api: ApiClient, g: GenerationResource): string {
  const lines = [
    `id         ${g.id}`,
    `status     ${g.status}${g.stage ? ` (stage ${g.stage})` : ''}`,
    `character  ${g.character ? `${g.character.slug}@${g.character.version}` : '-'}`,
    `prompt     ${g.request?.prompt ?? '-'}`,
    `project    ${g.request?.project ?? '-'}`,
    `backend    ${g.backend ?? '-'}`,
    `created    ${g.createdAt}${g.finishedAt ? `, finished ${g.finishedAt}` : ''}`,
  ];
  if (g.progress) lines.push(`progress   ${g.progress.value}/${g.progress.max}`);
  if (g.error) lines.push(`error      ${g.error.code}: ${oneLine(g.error.message)}`);
  for (const attempt of g.attempts ?? []) lines.push(`attempt ${attempt.number}  ${attempt.backend}${attempt.error ? `  ${attempt.error.code}` : ''}`);
  if (g.assets.length) lines.push('files (library path, download):', ...describeAssets(api, g).map((l) => `  ${l}`));
  // The prompt and the project are text as the user gave it, the error ComfyUI's: one line each, no control character.
  return lines.map(printable).join('\n');
}

/**
 * How a generation that did not complete ended, in one phrase: its status, then its error's code and
 * message, each left out where it only repeats what came before ("canceled", not "canceled: canceled: canceled").
 */
export function endedWithout(id: string, status: string, error: { code: string; message: string } | null | undefined): string {
  const parts = [`generation ${id} ${status}`];
  if (error && error.code !== status) parts.push(error.code);
  if (error && error.message !== error.code && error.message !== status) parts.push(error.message);
  return parts.join(': ');
}
