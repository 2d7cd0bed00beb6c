import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EventSink } from './execution/event-sink';
import { FailureSwitch } from './execution/failure-switch';
import type { PreviewMethod } from './execution/latent-preview';
import { PromptExecutor } from './execution/prompt-executor';
import { PromptQueue } from './execution/prompt-queue';
import { PromptWorker } from './execution/prompt-worker';
import { WorkerHang } from './execution/worker-hang';
import { checkedTempFolder, emptyFolder } from './files/temp-folder';
import { addFileRoutes } from './http/routes/file-routes';
import { addHistoryRoutes } from './http/routes/history-routes';
import { addInfoRoutes } from './http/routes/info-routes';
import { addPromptRoutes } from './http/routes/prompt-routes';
import { addQueueRoutes } from './http/routes/queue-routes';
import { addSimRoutes } from './http/routes/sim-routes';
import { addWsRoutes } from './http/routes/ws-routes';
import { misbehave, type Misbehaviour, type MisbehaviourRecord } from './http/misbehaviour';
import { originOnlyMiddleware } from './http/origin-guard';
import { Router } from './http/router';
import type { CustomNodePack } from './nodes/custom-node-packs';
import type { NodeEnvironment } from './nodes/node-definition';
import { createNodeRegistry } from './nodes/node-registry';
import { serverProfile, type ComfyuiVersion } from './server-profile';
import { setModels, type RecordedControl, type RecordedProgress, type RecordedUpload, type ReceivedPrompt, type SimulatedModels, type SimulatorState } from './simulator-state';
import { SocketHub } from './ws/socket-hub';

export interface SimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Time per sampler step. */
  stepMs?: number;
  /**
   * ComfyUI's --preview-method: 'none' (its default, and this one's) sends no preview; any other makes
   * each sampler step send a JPEG as a binary frame, format 1 or, to a socket that negotiated
   * supports_preview_metadata, format 4 (comfyui-protocol.md §6.3).
   */
  previewMethod?: PreviewMethod;
  outputDir?: string;
  inputDir?: string;
  tempDir?: string;
  checkpoints?: string[];
  loras?: string[];
  /** Custom node packs to install (none by default, like a stock ComfyUI): 'ipadapter' adds IPAdapterUnifiedLoader and IPAdapter. */
  customNodes?: CustomNodePack[];
  /**
   * Which real ComfyUI it answers as (default '0.3.64', the server issue 14 reports against); '0.8.0' is the
   * server the captures were recorded from. See server-profile.ts for what differs.
   */
  comfyuiVersion?: ComfyuiVersion;
  /** Where the simulator reports its own faults; silent by default. */
  log?: (line: string) => void;
  /** An answer no real ComfyUI gives, from the start (see misbehaviour.ts); none by default. */
  misbehave?: Misbehaviour;
  /** How many received prompts, uploads and controls are recorded, the newest (default MAX_RECORDED). */
  maxRecorded?: number;
}

export interface Simulator {
  url: string;
  port: number;
  outputDir: string;
  inputDir: string;
  tempDir: string;
  /** The ComfyUI version it answers as. */
  comfyuiVersion: ComfyuiVersion;
  /** Prompts accepted by POST /prompt, in order. */
  received: ReceivedPrompt[];
  /** Successful uploads, in order (a reused duplicate appears again under the reused name). */
  uploads: RecordedUpload[];
  /** Every POST /queue and POST /interrupt, in order, with its body. */
  controls: RecordedControl[];
  /** Makes the next prompt to run fail with an execution_error (an OOM unless a message is given). */
  failNext(kind: 'execution_error', message?: string, exceptionType?: string): void;
  /**
   * The next node to start does not return until releaseWorker(): its prompt stays running for good,
   * interrupts are not honoured, nothing behind it runs, HTTP goes on answering (a node stuck, or the
   * worker thread dead: comfyui-protocol.md §10).
   */
  hangWorker(): void;
  /** Lets a hung node go on (an interrupt requested meanwhile then takes effect). */
  releaseWorker(): void;
  /** Drops every WebSocket connection, as a crashed or restarted server would. */
  disconnectSockets(): void;
  /** Arms an answer no real ComfyUI gives (see misbehaviour.ts), or with none, follows the protocol again. */
  misbehave(misbehaviour?: Misbehaviour): void;
  /**
   * Replaces the model files it has while it runs (a list not given stays), as files added to or
   * deleted from a running ComfyUI's models folders: /object_info, /models and prompt validation
   * see them from the next request on.
   */
  setModels(models: SimulatedModels): void;
  /** The oversized answers sent so far, with how many bytes of each left before the client stopped reading. */
  misbehaviours: MisbehaviourRecord[];
  close(): Promise<void>;
}

/** Bounds the progress record of a long-running simulator (a 10,000-job soak at 5 steps is 50,000). */
const MAX_RECORDED_PROGRESS = 100_000;
/** Bounds the records of prompts, uploads and controls: ComfyUI itself keeps 10,000 history items. */
export const MAX_RECORDED = 10_000;

/**
 * A record that keeps its newest `max` entries, so a simulator left running (pnpm start, a soak)
 * does not grow with every prompt ever sent. Derived arrays (map, filter, slice) are plain ones.
 */
class RecentRecord<T> extends Array<T> {
  static get [Symbol.species]() {
    return Array;
  }
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override push(...items: T[]): number {
    super.push(...items);
    if (this.length > this.#max) this.splice(0, this.length - this.#max);
    return this.length;
  }
}

export const DEFAULT_CHECKPOINTS = ['anime-v1.safetensors', 'sd_xl_base_1.0.safetensors'];
export const DEFAULT_LORAS = ['style/inkwash.safetensors', 'kai-nakamura.safetensors'];

/** A stand-in for a ComfyUI server speaking its HTTP + WebSocket protocol (it reports the captured server's CPU device). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const profile = serverProfile(options.comfyuiVersion);
  const nodes = createNodeRegistry({ customNodes: options.customNodes });
  const created: string[] = [];
  const folder = (given: string | undefined, name: string) => {
    if (given) {
      mkdirSync(given, { recursive: true });
      return resolve(given);
    }
    const dir = mkdtempSync(join(tmpdir(), `comfyui-sim-${name}-`));
    created.push(dir);
    return dir;
  };
  // main.cleanup_temp: ComfyUI empties its temp folder when it starts (and again when it exits), so a
  // restarted server no longer serves the PreviewImage files of the one before.
  if (options.tempDir) emptyFolder(checkedTempFolder(options.tempDir, options));
  const env: NodeEnvironment = {
    nodes,
    outputDir: folder(options.outputDir, 'output'),
    inputDir: folder(options.inputDir, 'input'),
    tempDir: folder(options.tempDir, 'temp'),
    stepMs: options.stepMs ?? 50,
    previewMethod: options.previewMethod ?? 'none',
    checkpoints: options.checkpoints ?? DEFAULT_CHECKPOINTS,
    loras: options.loras ?? DEFAULT_LORAS,
  };
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';

  let queue: PromptQueue;
  const hub = new SocketHub(() => ({ exec_info: { queue_remaining: queue.tasksRemaining() } }));
  queue = new PromptQueue(() => hub.broadcastStatus());
  const interrupt = { requested: false };
  const failures = new FailureSwitch();
  const hang = new WorkerHang();
  const progressSent: RecordedProgress[] = new RecentRecord(MAX_RECORDED_PROGRESS);
  const misbehaviours: MisbehaviourRecord[] = [];
  // The messages themselves are ComfyUI's; only when each `progress` left is noted beside them.
  const sink: EventSink = {
    send: (event, data, sid) => {
      const misbehaviour = state.misbehaviour;
      if (event === 'progress' && misbehaviour?.kind === 'progress') {
        for (const sent of misbehaviour.rewrite(data as Parameters<typeof misbehaviour.rewrite>[0])) hub.send(event, sent, sid);
      } else hub.send(event, data, sid);
      if (event !== 'progress') return;
      const { prompt_id: promptId, node, value, max } = data as { prompt_id: string; node: string; value: number; max: number };
      progressSent.push({ promptId, node, value, max, sentAt: performance.timeOrigin + performance.now() });
    },
    sendBytes: (frame, sid) => hub.sendBytes(frame, sid),
    supportsFeature: (sid, name) => hub.supportsFeature(sid, name),
    setExecution: (clientId, lastNodeId) => hub.setExecution(clientId, lastNodeId),
  };
  const worker = new PromptWorker(queue, new PromptExecutor(env, sink, interrupt, failures, profile, hang), hub, interrupt, log);
  const maxRecorded = options.maxRecorded ?? MAX_RECORDED;
  const state: SimulatorState = { env, profile, host, port: 0, queue, worker, hub, failures, hang, progressSent, nextNumber: 0, misbehaviour: options.misbehave,
    received: new RecentRecord(maxRecorded), uploads: new RecentRecord(maxRecorded), controls: new RecentRecord(maxRecorded) };

  const router = new Router((error) => log(`request failed: ${(error as Error)?.stack ?? error}`));
  for (const add of [addPromptRoutes, addQueueRoutes, addHistoryRoutes, addFileRoutes, addInfoRoutes, addSimRoutes, addWsRoutes]) add(router, state);
  const server = createServer((req, res) => {
    if (originOnlyMiddleware(req, res, profile.emptyBodyContentType)) return;
    const route = () => void router.handle(req, res).catch((error) => log(`request failed: ${(error as Error)?.stack ?? error}`));
    if (misbehave(state.misbehaviour, req, res, state, misbehaviours, route)) return;
    route();
  });
  // aiohttp's keepalive_timeout (75 s): an idle connection stays open as long as ComfyUI keeps it, so a
  // client reusing one within that time (as undici does for 4 s) never meets Node's 5 s close mid-request.
  server.keepAliveTimeout = 75_000;
  hub.attach(server);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  state.port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${state.port}`,
    port: state.port,
    outputDir: env.outputDir,
    inputDir: env.inputDir,
    tempDir: env.tempDir,
    comfyuiVersion: profile.version,
    received: state.received,
    uploads: state.uploads,
    controls: state.controls,
    failNext: (_kind, message, exceptionType) => failures.arm(message, exceptionType),
    hangWorker: () => hang.arm(),
    releaseWorker: () => hang.disarm(),
    disconnectSockets: () => hub.disconnectAll(),
    misbehave: (next) => {
      state.misbehaviour = next;
    },
    setModels: (models) => setModels(env, models),
    misbehaviours,
    close: () =>
      (closing ??= (async () => {
        // A hung node would hold the worker's close for good.
        hang.disarm();
        await hub.close();
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
        await worker.close();
        for (const dir of created) rmSync(dir, { recursive: true, force: true });
        if (options.tempDir) emptyFolder(env.tempDir);
      })()),
  };
}
