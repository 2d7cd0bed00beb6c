import type { FailureSwitch } from './execution/failure-switch';
import type { WorkerHang } from './execution/worker-hang';
import type { Misbehaviour } from './http/misbehaviour';
import type { PromptQueue } from './execution/prompt-queue';
import type { PromptWorker } from './execution/prompt-worker';
import type { NodeEnvironment } from './nodes/node-definition';
import type { ServerProfile } from './server-profile';
import type { ApiPrompt, ExtraData } from './types';
import type { SocketHub } from './ws/socket-hub';

export interface ReceivedPrompt {
  promptId: string;
  prompt: ApiPrompt;
  clientId: string | undefined;
  extraData: ExtraData;
}

export interface RecordedUpload {
  name: string;
  subfolder: string;
  type: string;
  sha256: string;
  /** Size in bytes of the uploaded file. */
  bytes: number;
}

/** A POST /queue or /interrupt as received: which prompts a client took off, and how. Only a dict body is kept. */
export interface RecordedControl {
  path: '/queue' | '/interrupt';
  body: Record<string, unknown>;
  at: string;
}

/** A `progress` WebSocket message as sent, with the epoch time (ms, fractional) it was handed to the sockets. */
export interface RecordedProgress {
  promptId: string;
  node: string;
  value: number;
  max: number;
  sentAt: number;
}

/** The model files of a running simulator (POST /sim/models, simulator.setModels); a list left out stays. */
export interface SimulatedModels {
  checkpoints?: string[];
  loras?: string[];
}

/**
 * ComfyUI lists the files present in its models folders at each request (/object_info, /models, a
 * prompt's validation), so files added or deleted while it runs count from the next request on.
 */
export function setModels(env: NodeEnvironment, models: SimulatedModels): void {
  if (models.checkpoints) env.checkpoints = [...models.checkpoints];
  if (models.loras) env.loras = [...models.loras];
}

/** Everything the HTTP routes share. */
export interface SimulatorState {
  env: NodeEnvironment;
  /** The real ComfyUI version it answers as. */
  profile: ServerProfile;
  host: string;
  port: number;
  queue: PromptQueue;
  worker: PromptWorker;
  hub: SocketHub;
  failures: FailureSwitch;
  /** A node that does not return, armed by a test (POST /sim/hang). */
  hang: WorkerHang;
  received: ReceivedPrompt[];
  uploads: RecordedUpload[];
  controls: RecordedControl[];
  /** The last MAX_RECORDED_PROGRESS `progress` messages sent, oldest first (for `pnpm bench`'s progress latency). */
  progressSent: RecordedProgress[];
  /** server.number: advances on every parsed POST /prompt without an explicit number, even rejected ones. */
  nextNumber: number;
  /** The answer no real ComfyUI gives that a test armed (simulator.misbehave), if any. */
  misbehaviour?: Misbehaviour;
}
