import type { NodeEnvironment } from '../nodes/node-definition';
import { PyException } from '../python/py-exception';
import { pyKeys } from '../python/py-json-marks';
import type { HistoryEntry, QueueItem, SavedImageRef, StatusMessage } from '../types';
import { planExecution } from './execution-plan';
import type { EventSink } from './event-sink';
import type { FailureSwitch } from './failure-switch';
import { formatCurrentInputs } from './format-inputs';
import { InterruptedError } from './interrupted-error';
import { LATENT_PREVIEW_JPEG, previewImageFrame, previewWithMetadataFrame } from './latent-preview';
import { WorkerHang } from './worker-hang';
import { isLink, OutputCache } from './output-cache';
import { ProgressRegistry } from './progress-registry';
import type { ServerProfile } from '../server-profile';
import { NodeFailure } from './simulated-failures';

export interface ExecutionOutcome {
  success: boolean;
  messages: StatusMessage[];
  outputs: HistoryEntry['outputs'];
  meta: HistoryEntry['meta'];
}

export interface InterruptFlag {
  requested: boolean;
}

type NodeRun = { ok: true } | { ok: false; error: unknown; inputData?: Record<string, unknown> };

/** Runs one prompt the way execution.PromptExecutor does, emitting the same events in the same order. */
export class PromptExecutor {
  private cache = new OutputCache();

  constructor(
    private readonly env: NodeEnvironment,
    private readonly sink: EventSink,
    private readonly interrupt: InterruptFlag,
    private readonly failures: FailureSwitch,
    private readonly profile: ServerProfile,
    private readonly hang: WorkerHang = new WorkerHang(),
  ) {}

  /** PromptExecutor.reset (after POST /free with free_memory): a fresh output cache. */
  reset(): void {
    this.cache = new OutputCache();
  }

  async execute(item: QueueItem): Promise<ExecutionOutcome> {
    const { promptId, prompt, extraData } = item;
    this.interrupt.requested = false;
    const clientId = typeof extraData.client_id === 'string' ? extraData.client_id : null;
    this.sink.setExecution(clientId, null);
    const messages: StatusMessage[] = [];
    const addMessage = (event: string, data: Record<string, unknown>, broadcast: boolean) => {
      const full = { ...data, timestamp: Date.now() };
      messages.push([event, full]);
      if (clientId !== null || broadcast) this.sink.send(event, full, clientId);
    };

    addMessage('execution_start', { prompt_id: promptId }, false);
    this.cache.setPrompt(prompt, this.env);
    const isCached = (nodeId: string) => this.cache.get(nodeId) !== undefined;
    const armed = this.failures.take();
    // An armed failure needs a node that really runs; a fully cached prompt gives up its first output's cache.
    if (armed && planExecution(prompt, item.outputs, isCached, this.env.nodes, this.profile.cachedOutputReplay).every(isCached)) this.cache.delete(item.outputs[0]);
    // `for node_id in prompt`: cached ids are listed in the order the prompt was posted.
    addMessage('execution_cached', { nodes: pyKeys(prompt).filter(isCached), prompt_id: promptId }, false);

    // WebUIProgressHandler._send_progress_state sends it to the prompt's client_id (comfy_execution/progress.py,
    // since Comfy-Org/ComfyUI#9706, 2025-09, before either version simulated): every socket hears it only
    // when the prompt has no client_id, as `progress`. (Sent with no sid before that, to every socket.)
    const progress = new ProgressRegistry(promptId, (data) => this.sink.send('progress_state', data, clientId));
    const plan = planExecution(prompt, item.outputs, isCached, this.env.nodes, this.profile.cachedOutputReplay);
    const classOf = (nodeId: string) => prompt[nodeId].class_type as string;
    const failAt = armed ? (plan.find((id) => classOf(id) === 'KSampler' && !isCached(id)) ?? plan.find((id) => !isCached(id))) : undefined;
    const executed: string[] = [];
    const ui = new Map<string, { images: SavedImageRef[] }>();

    const runNode = async (nodeId: string): Promise<NodeRun> => {
      const cached = this.cache.get(nodeId);
      if (cached) {
        if (clientId !== null) this.sink.send('executed', { node: nodeId, display_node: nodeId, output: cached.ui ?? null, prompt_id: promptId }, clientId);
        if (cached.ui) ui.set(nodeId, cached.ui);
        progress.finish(nodeId);
        return { ok: true };
      }
      const definition = this.env.nodes.get(classOf(nodeId))!;
      progress.start(nodeId);
      const inputData = this.inputData(item, nodeId);
      if (clientId !== null) {
        this.sink.setExecution(clientId, nodeId);
        this.sink.send('executing', { node: nodeId, display_node: nodeId, prompt_id: promptId }, clientId);
      }
      try {
        await this.hang.atNodeStart();
        if (this.interrupt.requested) throw new InterruptedError();
        if (nodeId === failAt) throw armed;
        const result = await definition.run({
          nodeId,
          classType: definition.name,
          prompt,
          extraData,
          inputs: inputData,
          env: this.env,
          progress: (value, max) => this.stepDone(progress, promptId, nodeId, clientId, value, max),
          checkInterrupted: () => {
            if (this.interrupt.requested) throw new InterruptedError();
          },
        });
        if (result.ui) {
          ui.set(nodeId, result.ui);
          if (clientId !== null) this.sink.send('executed', { node: nodeId, display_node: nodeId, output: result.ui, prompt_id: promptId }, clientId);
        }
        this.cache.set(nodeId, { outputs: result.outputs, ui: result.ui });
      } catch (error) {
        return { ok: false, error, inputData };
      }
      progress.finish(nodeId);
      executed.push(nodeId);
      return { ok: true };
    };

    let success = true;
    for (const nodeId of plan) {
      const run = await runNode(nodeId);
      if (run.ok) continue;
      success = false;
      const base = { prompt_id: promptId, node_id: nodeId, node_type: classOf(nodeId), executed: [...executed] };
      if (run.error instanceof InterruptedError) {
        addMessage('execution_interrupted', base, true);
      } else {
        const failure = toFailure(run.error);
        addMessage(
          'execution_error',
          {
            ...base,
            exception_message: `${failure.exception.pyMessage}\n${failure.tips}`,
            exception_type: failure.exception.pyType,
            traceback: failure.exception.traceback,
            current_inputs: formatCurrentInputs(run.inputData ?? {}),
            current_outputs: Object.keys(prompt),
          },
          false,
        );
      }
      break;
    }
    if (success) addMessage('execution_success', { prompt_id: promptId }, false);
    this.sink.setExecution(clientId, null);

    const outputs: HistoryEntry['outputs'] = {};
    const meta: HistoryEntry['meta'] = {};
    for (const [nodeId, output] of ui) {
      outputs[nodeId] = output;
      meta[nodeId] = { node_id: nodeId, display_node: nodeId, parent_node: null, real_node_id: nodeId };
    }
    return { success, messages, outputs, meta };
  }

  /**
   * main.hijack_progress's hook for a sampler step, in its order: update_progress (progress_state to
   * every socket, then the preview with metadata to a client that negotiated it), `progress`, then the
   * plain preview to a client that did not. Without a client id the plain preview goes to every socket.
   */
  private stepDone(progress: ProgressRegistry, promptId: string, nodeId: string, clientId: string | null, value: number, max: number): void {
    const preview = this.env.previewMethod === 'none' ? undefined : LATENT_PREVIEW_JPEG;
    const withMetadata = preview !== undefined && this.sink.supportsFeature(clientId, 'supports_preview_metadata');
    progress.update(nodeId, value, max);
    if (preview && withMetadata) {
      const metadata = { node_id: nodeId, prompt_id: promptId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId };
      this.sink.sendBytes(previewWithMetadataFrame(metadata, preview), clientId);
    }
    this.sink.send('progress', { value, max, prompt_id: promptId, node: nodeId }, clientId);
    if (preview && !withMetadata) this.sink.sendBytes(previewImageFrame(preview), clientId);
  }

  /** get_input_data: linked values from upstream results, declared literals, then the hidden inputs. */
  private inputData(item: QueueItem, nodeId: string): Record<string, unknown> {
    const node = item.prompt[nodeId];
    const types = this.env.nodes.get(node.class_type)!.inputTypes(this.env);
    const declared = { ...types.required, ...types.optional };
    const data: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(node.inputs as Record<string, unknown>)) {
      if (isLink(value)) data[name] = this.cache.get(value[0])?.outputs[value[1]];
      else if (name in declared) data[name] = value;
    }
    for (const [name, kind] of Object.entries(types.hidden ?? {})) {
      if (kind === 'PROMPT') data[name] = item.prompt;
      if (kind === 'EXTRA_PNGINFO') data[name] = item.extraData.extra_pnginfo ?? null;
    }
    return data;
  }
}

function toFailure(error: unknown): NodeFailure {
  if (error instanceof NodeFailure) return error;
  if (error instanceof PyException) return new NodeFailure(error);
  return new NodeFailure(new PyException('Exception', error instanceof Error ? error.message : String(error)));
}
