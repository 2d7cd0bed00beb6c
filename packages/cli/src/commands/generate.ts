import { Command, InvalidArgumentError } from 'commander';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeySchema } from '@anime/contracts';
import { CliError, oneLine } from '../cli-error';
import { describeAssets, endedWithout, type GenerationResource } from '../generation-summary';
import { printJson } from '../output';
import { ProgressLine } from '../progress-line';
import { getThroughRestart } from '../read-through-restart';
import { watchJob, type ConnectionChange, type WatchedEvent } from '../watch-job';
import type { CommandContext } from './context';

export const integer = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(value);
};

/** An Idempotency-Key as the gateway takes it (1-200 characters of text), else a command-line mistake. */
const idempotencyKey = (value: string) => {
  const parsed = idempotencyKeySchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new InvalidArgumentError(issue.code === 'too_small' ? 'must not be empty' : issue.code === 'too_big' ? 'must be at most 200 characters' : issue.message);
};

/** The key as a header value: its UTF-8 bytes, which fetch sends one per Latin-1 character (and the gateway reads back as UTF-8). */
const asHeaderValue = (key: string) => Buffer.from(key, 'utf8').toString('latin1');

const param = (value: string, previous: Record<string, unknown> = {}) => {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('use name=value');
  const raw = value.slice(at + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...previous, [value.slice(0, at)]: parsed };
};

export function generateCommand(context: CommandContext): Command {
  return new Command('generate')
    .description('create a generation of a character; with --watch, follow it live and print where its files landed')
    .requiredOption('-c, --character <character>', 'slug, id, name or slug@version')
    .requiredOption('-p, --prompt <text>', 'what to draw')
    .option('--negative <text>', 'what not to draw')
    .option('--project <name>', 'library folder level 1 (default: default)')
    .option('--episode <name>', 'library folder level 2 (default: ep00)')
    .option('--scene <name>', 'library folder level 3 (default: sc000)')
    .option('--shot <name>', "a library folder under the character's")
    .option('--count <n>', 'images (1-16, default 1)', integer('--count'))
    .option('--seed <n>', 'seed (random when absent, recorded)', integer('--seed'))
    .option('--width <px>', '64-2048, a multiple of 8 (default 512)', integer('--width'))
    .option('--height <px>', '64-2048, a multiple of 8 (default 512)', integer('--height'))
    .option('--steps <n>', 'sampler steps, 1-150 (default 20)', integer('--steps'))
    .option('--outfit <name>', "one of the character version's outfits, any case")
    .option('--workflow <slug[@version]>', 'a registered workflow template (default: the built-in txt2img)')
    .option('--param <name=value>', 'a workflow template\'s parameter (repeatable); the value is read as JSON when it parses (cfg=9.5, hires=true), else as text: quote a text that parses, label=\'"42"\'', param)
    .option('--priority <priority>', 'interactive | normal | batch (default normal; interactive needs the generate:interactive scope)')
    .option('--references <mode>', 'auto | required (a reference image must condition the image; default auto)')
    .option('--webhook <url>', "also send the generation's end to this registered webhook endpoint")
    .option('--idempotency-key <key>', 'makes the command safe to run again after a lost answer: the same key with the same options gives back the generation it made, not a second one (1-200 characters; a fresh key per new generation)', idempotencyKey)
    .option('-w, --watch', 'follow the job live until it ends; exit 1 when it fails or is canceled (Ctrl-C stops following it, exit 130: the generation goes on)')
    .action(async (options) => {
      const api = context.api();
      const { watch, param: params, webhook, idempotencyKey: key, ...fields } = options;
      const body = Object.fromEntries(Object.entries({ ...fields, params, webhook: webhook === undefined ? undefined : { url: webhook } }).filter(([, v]) => v !== undefined));
      const created = await api.post<{ id: string; status: string }>('/api/v1/generations', body, key === undefined ? undefined : { [IDEMPOTENCY_KEY_HEADER]: asHeaderValue(key) });
      if (!watch) {
        if (context.json()) printJson(created);
        else console.log(`${created.id} ${created.status}  (follow it: anime show ${created.id}, or use --watch)`);
        return;
      }
      // `queued`; or, given back for an --idempotency-key used before, where that generation stands.
      if (!context.json()) console.error(`generation ${created.id} ${created.status}`);
      const progress = new ProgressLine();
      // Ctrl-C stops the watch, not the generation: said (on stderr, also with --json), so that no one
      // takes it for a cancel.
      const interrupted = () => {
        progress.end();
        process.stderr.write(`anime: stopped following ${created.id}; the generation goes on (anime show ${created.id}; anime cancel ${created.id} stops it)\n`, () => process.exit(130));
      };
      process.once('SIGINT', interrupted);
      let terminal: WatchedEvent;
      try {
        terminal = await watchJob(
          api,
          created.id,
          (event) => (context.json() ? console.log(JSON.stringify(event)) : narrate(progress, event)),
          (change) => (context.json() ? undefined : narrateConnection(progress, change)),
        );
      } finally {
        // Ended or failed (a refusal for good): no Ctrl-C of the watch after it, and its bar ended before any error.
        process.off('SIGINT', interrupted);
        progress.end();
      }
      // Ctrl-C while that read waits: said (how to look the job up later), exit 130 as above.
      const stoppedReading = () => {
        process.stderr.write(`anime: stopped waiting to read how ${created.id} ended; the generation has ended (anime show ${created.id} tells how)\n`, () => process.exit(130));
      };
      process.once('SIGINT', stoppedReading);
      // The job has ended; a gateway restarting right now (a deploy) is waited through here too, for a
      // bounded time, rather than taking the generation's end for a failure. Said once.
      const generation = await getThroughRestart<GenerationResource>(api, `/api/v1/generations/${created.id}`, {
        onWaiting: (reason, withinMs) => {
          if (!context.json()) console.error(`the gateway is away (${oneLine(reason)}); waiting up to ${withinMs / 1000} s to read how ${created.id} ended…`);
        },
      }).finally(() => process.off('SIGINT', stoppedReading));
      // With --json a watch prints JSON Lines: each event, then the generation as it ended, one document a line.
      if (context.json()) console.log(JSON.stringify(generation));
      if (terminal.name !== 'job:completed') {
        const error = generation.error ?? (terminal.payload.error as { code: string; message: string } | undefined);
        throw new CliError(endedWithout(created.id, generation.status, error), 1);
      }
      if (!context.json()) {
        console.log(`completed: ${generation.assets.length} file(s) in the library`);
        for (const line of describeAssets(api, generation)) console.log(`  ${line}`);
      }
    });
}

function narrate(progress: ProgressLine, { name, payload }: WatchedEvent): void {
  if (name === 'job:progress') return progress.update(payload.value as number, payload.max as number, (payload.node as string | null) ?? null);
  if (name === 'job:submitted') return progress.note(`submitted to ${payload.backend} (attempt ${payload.attempt})`);
  if (name === 'job:started') return progress.note(`started on ${payload.backend}`);
  if (name === 'job:retrying') return progress.note(`retrying: ${payload.reason}`);
  if (name === 'job:failed') return progress.note(`failed: ${oneLine((payload.error as { message: string }).message)}`);
  if (name === 'job:canceled') return progress.note('canceled');
}

/** A gateway gone (a restart, a network cut) is said, and so is its return: the watch waits through it. */
function narrateConnection(progress: ProgressLine, change: ConnectionChange): void {
  if (change.state === 'lost') progress.note(`lost the gateway (${change.reason}); reconnecting…`);
  else progress.note('reconnected to the gateway; catching up');
}
