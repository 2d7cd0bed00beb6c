import type { BackendCapabilities } from './capabilities';

/** What a job needs of a backend. */
export interface JobNeeds {
  /** The conditioning's checkpoint, if it names one. */
  checkpoint?: string;
  /**
   * A registered template's own checkpoint (its `checkpoint` parameter's default, else the graph's
   * literal), used when no backend has the character's: only if a backend has it, else
   * DEFAULT_CHECKPOINT, else each backend's first (README "Workflow templates"), since a graph
   * exported from a studio's own ComfyUI names that machine's file.
   */
  templateCheckpoint?: string;
  /**
   * False when the graph loads no checkpoint (a template without a `checkpoint` parameter, such as
   * EmptyImage → SaveImage): then no backend needs one, and a backend without models can run it.
   */
  loadsCheckpoint?: boolean;
  loras: string[];
  /** Node classes of its graph (known once a graph was built). */
  nodeClasses: string[];
  /** `"references": "required"`: the backend must have the IP-Adapter nodes, so a reference conditions the model. */
  ipAdapter?: boolean;
  /**
   * `"references": "auto"` with references IP-Adapter could use: among backends with room, one with
   * IP-Adapter is preferred, so the reference conditions the image whenever such a backend is free.
   */
  prefersIpAdapter?: boolean;
  /** A backend that just failed this job with a transient fault: used only when no other can take it. */
  avoid?: string;
}

/** A backend as routing sees it. */
export interface RouteCandidate {
  url: string;
  up: boolean;
  draining: boolean;
  /** Null until the backend has answered once (or its last known capabilities were stored). */
  capabilities: BackendCapabilities | null;
  /**
   * Why its last probe got no answer (refused, timed out, /object_info unreadable): set only once it
   * has been down for that for BACKEND_UNREACHABLE_GRACE_S (never answered since the orchestrator
   * started, or failing since), never before, nor while it answers (a stuck ComfyUI does): a ComfyUI
   * merely slower to start than its peers is waited for, a dead URL given up on.
   */
  unreachable?: string;
  /** Prompts this orchestrator holds there (in flight). */
  load: number;
  lastCheckpoint: string | null;
}

export interface RouteOptions {
  defaultCheckpoint?: string;
  /** Prompts a backend holds before it counts as full (1 running + BACKEND_PREFETCH waiting). */
  capacity: number;
  /** Rotates ties, so equal backends take turns. */
  turn?: number;
}

export type Route =
  /** `checkpoint` is empty when the graph loads none. */
  | { kind: 'run'; url: string; checkpoint: string }
  /**
   * Some backend could run it, but none that can is up, taking jobs and with room now. `full`: some
   * are up and taking jobs, but every one has as many prompts of ours as it may (a place comes free
   * as one ends); else none is up and taking jobs (down, draining, or its models not known yet).
   */
  | { kind: 'wait'; reason: string; full: false }
  /** `backends`: the capable ones, up, taking jobs and full (the job takes the first place that comes free on one). */
  | { kind: 'wait'; reason: string; full: true; backends: string[] }
  /**
   * No configured backend can ever run it; or none that answers can, and every one whose models are
   * unknown cannot be asked, past its grace (`details.unreachable`).
   */
  | { kind: 'none'; message: string; details: NoCapableDetails };

export interface NoCapableDetails {
  checkpoint: string | null;
  loras: string[];
  nodeClasses: string[];
  ipAdapter: boolean;
  /** Items no backend has at all. */
  missing: string[];
  backends: { url: string; missing: string[] }[];
  /** Backends whose models are unknown because they have not answered for their grace (so not in `backends`), and why. */
  unreachable: { url: string; error: string }[];
}

/**
 * The checkpoint (CONTRACT, "Checkpoint choice"): the conditioning's, else the template's own, when a
 * backend has it; else DEFAULT_CHECKPOINT when set; else undefined, "each backend's first". A name
 * no backend has is thus never sent: a job fails for its checkpoint only when no backend has any
 * (or DEFAULT_CHECKPOINT names one none has), and the graph records the checkpoint that was used.
 */
function wantedCheckpoint(known: RouteCandidate[], needs: JobNeeds, fallback: string | undefined): string | undefined {
  if (needs.loadsCheckpoint === false) return undefined;
  const somewhere = (name: string | undefined) => !!name && known.some((c) => c.capabilities!.checkpoints.includes(name));
  return [needs.checkpoint, needs.templateCheckpoint].find(somewhere) ?? fallback;
}

function missingOn(caps: BackendCapabilities, checkpoint: string | undefined, needs: JobNeeds): string[] {
  const missing: string[] = [];
  if (needs.loadsCheckpoint !== false && (checkpoint ? !caps.checkpoints.includes(checkpoint) : caps.checkpoints.length === 0)) missing.push(checkpoint ? `checkpoint "${checkpoint}"` : 'any checkpoint');
  for (const lora of needs.loras) if (!caps.loras.includes(lora)) missing.push(`LoRA "${lora}"`);
  for (const name of needs.nodeClasses) if (!caps.nodeClasses.includes(name)) missing.push(`node class "${name}"`);
  if (needs.ipAdapter && !caps.ipAdapter) missing.push('the IP-Adapter nodes (ComfyUI_IPAdapter_plus) that "references": "required" needs');
  return missing;
}

/**
 * Where a job goes: only to a backend that has its checkpoint, every LoRA and every node class
 * (and IP-Adapter when its references are required), never a draining or down one, and only to one
 * with room in its own queue (fewer than `capacity` prompts of ours): when every capable backend is
 * full the job waits, so it neither piles into one backend's queue nor holds a place another
 * backend could use. Among those, one other than the backend it should avoid (a transient fault
 * there) is preferred, then (for references "auto") one with IP-Adapter, then the one whose last
 * prompt used the same checkpoint (no model swap), then the least loaded. No backend known to be
 * capable while one's models are unknown waits to learn them, unless each such one has been down (its
 * probes got no answer) past its grace (`unreachable`) and another answers: the job then fails naming
 * them too (a dead URL never answers). An unknown backend might have any model or node class, so
 * within its grace every job no known backend can run waits; one no backend can run with every
 * backend's models known (or the unknown ones given up on) fails at once.
 */
export function routeJob(candidates: RouteCandidate[], needs: JobNeeds, options: RouteOptions): Route {
  const known = candidates.filter((c) => c.capabilities);
  const checkpoint = wantedCheckpoint(known, needs, options.defaultCheckpoint);
  const gaps = known.map((c) => ({ candidate: c, missing: missingOn(c.capabilities!, checkpoint, needs) }));
  const capable = gaps.filter((g) => g.missing.length === 0).map((g) => g.candidate);
  if (!capable.length) {
    const unknown = candidates.filter((c) => !c.capabilities);
    const unreachable = unknown.filter((c) => !c.up && c.unreachable);
    // Waiting for a dead URL to answer would last until JOB_TIMEOUT_S: once a backend answers and
    // none that does can run it, the ones that have not answered for their grace fail it. Within it
    // (a ComfyUI slower to start than its peers), or with none answering (all still starting, say),
    // it waits for them, as for one whose models are still being read.
    const learning = unreachable.length < unknown.length || !known.some((c) => c.up);
    if (unknown.length && learning) return { kind: 'wait', full: false, reason: `no backend known to be capable; waiting to learn the models of ${unknown.map((c) => c.url).join(', ')}` };
    return noneCapable(candidates, gaps, checkpoint, needs, unreachable);
  }
  const usable = capable.filter((c) => c.up && !c.draining);
  if (!usable.length) {
    return { kind: 'wait', full: false, reason: `every capable backend is down or draining: ${capable.map((c) => `${c.url} (${c.up ? 'draining' : 'down'})`).join(', ')}` };
  }
  const withRoom = usable.filter((c) => c.load < options.capacity);
  if (!withRoom.length) {
    return { kind: 'wait', full: true, backends: usable.map((c) => c.url), reason: `every capable backend is full (${options.capacity} prompts each): ${usable.map((c) => c.url).join(', ')}` };
  }
  const turn = options.turn ?? 0;
  const order = (c: RouteCandidate) => (candidates.indexOf(c) - turn + candidates.length * 1_000) % candidates.length;
  const checkpointOf = (c: RouteCandidate) => (needs.loadsCheckpoint === false ? '' : (checkpoint ?? c.capabilities!.checkpoints[0]));
  const withoutIpAdapter = (c: RouteCandidate) => (needs.prefersIpAdapter && !c.capabilities!.ipAdapter ? 1 : 0);
  const score = (c: RouteCandidate) => [c.url === needs.avoid ? 1 : 0, withoutIpAdapter(c), checkpointOf(c) && c.lastCheckpoint === checkpointOf(c) ? 0 : 1, c.load, order(c)];
  const best = withRoom.reduce((a, b) => (compare(score(b), score(a)) < 0 ? b : a));
  return { kind: 'run', url: best.url, checkpoint: checkpointOf(best) };
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function noneCapable(all: RouteCandidate[], gaps: { candidate: RouteCandidate; missing: string[] }[], checkpoint: string | undefined, needs: JobNeeds, unreachable: RouteCandidate[]): Route {
  // What no backend has at all names the problem best; else each backend's own gap.
  const missing = [...new Set(gaps.flatMap((g) => g.missing))].filter((item) => gaps.every((g) => g.missing.includes(item)));
  const which = unreachable.length ? 'no backend with known models' : 'no backend';
  const gapsMessage = !all.length
    ? 'no backend is configured'
    : missing.length
      ? `${which} has ${missing.join(', ')} (of ${gaps.length} backend${gaps.length === 1 ? '' : 's'}: ${gaps.map((g) => g.candidate.url).join(', ')})`
      : `${which} has everything the job needs: ${gaps.map((g) => `${g.candidate.url} lacks ${g.missing.join(', ')}`).join('; ')}`;
  const unreachableMessage = unreachable.length ? `; could not ask ${unreachable.map((c) => `${c.url} (unreachable, its models unknown: ${c.unreachable})`).join(', ')}` : '';
  return {
    kind: 'none',
    message: gapsMessage + unreachableMessage,
    details: {
      checkpoint: checkpoint ?? null,
      loras: needs.loras,
      nodeClasses: needs.nodeClasses,
      ipAdapter: !!needs.ipAdapter,
      missing,
      backends: gaps.map((g) => ({ url: g.candidate.url, missing: g.missing })),
      unreachable: unreachable.map((c) => ({ url: c.url, error: c.unreachable! })),
    },
  };
}
