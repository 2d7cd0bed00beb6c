/**
 * Which real ComfyUI the simulator stands in for. Both are real servers that were driven through this
 * project; they differ in the few answers below, and only here.
 *
 * - 0.8.0: the server the captures in /work/shared/comfyui-captures were recorded from
 *   (01_get_system_stats.json reports comfyui_version "0.8.0"; its Server header is aiohttp 3.8.4).
 * - 0.3.64: the server issue 14 reports against (a real upstream 0.3.64 on CPU), and the default.
 */
export const COMFYUI_VERSIONS = ['0.3.64', '0.8.0'] as const;
export type ComfyuiVersion = (typeof COMFYUI_VERSIONS)[number];
export const DEFAULT_COMFYUI_VERSION: ComfyuiVersion = '0.3.64';

export interface ServerProfile {
  version: ComfyuiVersion;
  /** /system_stats system.comfyui_version. */
  comfyuiVersion: string;
  /** Whether POST /prompt stamps extra_data.create_time (ms), so history and /queue show it. */
  stampsCreateTime: boolean;
  /** The Content-Type of an empty web.Response(status=N); undefined sends no Content-Type header at all. */
  emptyBodyContentType: string | undefined;
  /**
   * With one cached and one new output node: 'staged' replays the cached output when the ExecutionList
   * stages it (ready at once, so first); 'after-new' sends the new output's `executed` first, then the
   * cached output's replay.
   */
  cachedOutputReplay: 'staged' | 'after-new';
}

const PROFILES: Record<ComfyuiVersion, ServerProfile> = {
  '0.3.64': {
    version: '0.3.64',
    // Reported against 0.3.64 in issue 14: system_stats says "0.3.64".
    comfyuiVersion: '0.3.64',
    // Reported against 0.3.64 in issue 14: extra_data has no create_time.
    stampsCreateTime: false,
    // Reported against 0.3.64 in issue 14: empty-body answers carry no Content-Type.
    emptyBodyContentType: undefined,
    // Reported against 0.3.64 in issue 14: the new output's `executed` comes first, then the cached one's replay.
    cachedOutputReplay: 'after-new',
  },
  '0.8.0': {
    version: '0.8.0',
    // 01_get_system_stats.json.
    comfyuiVersion: '0.8.0',
    // Every history entry in 10/11/12/30_*_history.json and 40_get_history_all.json carries extra_data.create_time.
    stampsCreateTime: true,
    // The captured server's aiohttp 3.8.4 (its Server header) gives an empty body its default Content-Type
    // (aio-libs/aiohttp#4612 shows it on an empty 204; PR #8858, Aug 2024, dropped it for empty bodies).
    emptyBodyContentType: 'application/octet-stream',
    // 11_probe_again_cached_ws_messages.json: execution_cached → executed(2) → progress_state(2:finished); the
    // ExecutionList's ux_friendly_pick_node stages a ready output node first, and a cached output is ready at once.
    cachedOutputReplay: 'staged',
  },
};

export function isComfyuiVersion(value: unknown): value is ComfyuiVersion {
  return typeof value === 'string' && (COMFYUI_VERSIONS as readonly string[]).includes(value);
}

export function serverProfile(version: ComfyuiVersion = DEFAULT_COMFYUI_VERSION): ServerProfile {
  if (!isComfyuiVersion(version)) throw new Error(`unknown ComfyUI version ${String(version)} (known: ${COMFYUI_VERSIONS.join(', ')})`);
  return PROFILES[version];
}
