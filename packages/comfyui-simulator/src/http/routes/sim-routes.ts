import { setModels, type SimulatorState } from '../../simulator-state';
import { asObject, readJson, sendJson } from '../respond';
import type { Router } from '../router';

/** Test hooks that a real ComfyUI lacks, for simulators started as a separate process. */
export function addSimRoutes(router: Router, state: SimulatorState): void {
  router.add('POST', '/sim/fail-next', async (req, res) => {
    const body = asObject(await readJson(req)) ?? {};
    const kind = body.kind ?? 'execution_error';
    if (kind !== 'execution_error') {
      sendJson(res, 400, { error: `unknown failure kind: ${String(kind)}` });
      return;
    }
    state.failures.arm(typeof body.message === 'string' ? body.message : undefined, typeof body.exception_type === 'string' ? body.exception_type : undefined);
    sendJson(res, 200, { armed: kind });
  });

  // Every successful POST /upload/image so far, in order, with the sha256 of the bytes received.
  router.add('GET', '/sim/uploads', (_req, res) => {
    sendJson(res, 200, { uploads: state.uploads });
  });

  // Every accepted POST /prompt so far, in order: its prompt_id, client_id and graph (to count what each backend was sent).
  router.add('GET', '/sim/prompts', (_req, res) => {
    sendJson(res, 200, { prompts: state.received.map((r) => ({ promptId: r.promptId, clientId: r.clientId, prompt: r.prompt })) });
  });

  // Every `progress` message sent (the latest 100,000), with its epoch send time in fractional ms.
  router.add('GET', '/sim/progress', (_req, res) => {
    sendJson(res, 200, { progress: state.progressSent });
  });

  // Every POST /queue and POST /interrupt so far, in order, with its body.
  router.add('GET', '/sim/controls', (_req, res) => {
    sendJson(res, 200, { controls: state.controls });
  });

  // The model files it has from now on, as if added to or deleted from its models folders:
  // {"checkpoints": [...], "loras": [...]}, a list left out stays. Answers the lists it now has.
  router.add('POST', '/sim/models', async (req, res) => {
    // A test hook, not ComfyUI's: a body it cannot use is a plain 400, not aiohttp's 500.
    const body = asObject(await readJson(req).catch(() => undefined));
    const fileList = (value: unknown) => value === undefined || (Array.isArray(value) && value.every((name) => typeof name === 'string' && name !== ''));
    if (!body || !fileList(body.checkpoints) || !fileList(body.loras)) {
      sendJson(res, 400, { error: 'expected a JSON object whose checkpoints and loras are each a list of file names' });
      return;
    }
    setModels(state.env, { checkpoints: body.checkpoints as string[] | undefined, loras: body.loras as string[] | undefined });
    sendJson(res, 200, { checkpoints: state.env.checkpoints, loras: state.env.loras });
  });

  // {"release": false} (or no body): the next node to start does not return, as a stuck node or a dead
  // worker thread (its prompt stays running, interrupts are not honoured); {"release": true} lets it go on.
  router.add('POST', '/sim/hang', async (req, res) => {
    const body = asObject(await readJson(req).catch(() => undefined)) ?? {};
    if (body.release !== undefined && typeof body.release !== 'boolean') {
      sendJson(res, 400, { error: 'expected {"release": true | false}' });
      return;
    }
    if (body.release) state.hang.disarm();
    else state.hang.arm();
    sendJson(res, 200, { hanging: state.hang.hanging });
  });

  router.add('POST', '/sim/disconnect-sockets', (_req, res) => {
    state.hub.disconnectAll();
    sendJson(res, 200, { disconnected: true });
  });
}
