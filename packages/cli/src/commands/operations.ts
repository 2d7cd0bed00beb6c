import { Command, InvalidArgumentError } from 'commander';
import type { BackendResource } from '@anime/contracts';
import { CliError, printable } from '../cli-error';
import { printJson } from '../output';
import type { CommandContext } from './context';

// The operator's switches (admin keys): a backend drained or taken back, a pipeline queue paused or
// resumed. Each prints what the gateway answered: the backend or queue as it is now.

// Not `.` or `..` either: a URL path segment the request would resolve away (`drain .` posted to another route).
const named = (what: string) => (value: string): string => {
  if (!value.trim() || value === '.' || value === '..') throw new InvalidArgumentError(`a ${what} is named, as \`anime ${what}s\` prints it`);
  return value;
};

function backendSwitch(name: 'drain' | 'undrain', description: string) {
  return (context: CommandContext) =>
    new Command(name)
      .description(description)
      .argument('<backend>', 'backend id, as `anime backends` prints it', named('backend'))
      .action(async (id: string) => {
        const backend = await context.api().post<BackendResource>(`/api/v1/backends/${encodeURIComponent(id)}/${name}`);
        if (context.json()) return printJson(backend);
        console.log(printable(`${backend.id} ${backend.state}${backend.drainedAt ? ` (drained at ${backend.drainedAt})` : ''}  busy ${backend.busy}, in flight ${backend.inFlight}`));
      });
}

interface QueueResource {
  name: string;
  paused: boolean;
  counts: Record<string, number>;
}

function queueSwitch(name: 'pause' | 'resume', description: string) {
  return (context: CommandContext) =>
    new Command(name)
      .description(description)
      .argument('<queue>', 'queue name, as `anime queues` prints it', named('queue'))
      .action(async (queueName: string) => {
        const queue = await context
          .api()
          .post<QueueResource>(`/api/v1/queues/${encodeURIComponent(queueName)}/${name}`)
          .catch((error: unknown) => {
            // An unknown name: the gateway lists the queues there are; said on the same line.
            const available = (error as CliError).body as { error?: { details?: { available?: unknown } } } | undefined;
            const names = available?.error?.details?.available;
            if (error instanceof CliError && Array.isArray(names)) throw new CliError(`${error.message} (queues: ${names.join(', ')})`, error.exitCode, error.body);
            throw error;
          });
        if (context.json()) return printJson(queue);
        console.log(printable(`${queue.name} ${queue.paused ? 'paused' : 'running'}  waiting ${queue.counts.waiting}, active ${queue.counts.active}`));
      });
}

export const drainCommand = backendSwitch('drain', 'drain a backend: it gets no new job and finishes what it holds');
export const undrainCommand = backendSwitch('undrain', 'take a drained backend back into routing');
export const pauseCommand = queueSwitch('pause', 'pause a pipeline queue: its consumers take no new job (running ones finish)');
export const resumeCommand = queueSwitch('resume', 'resume a paused pipeline queue');
