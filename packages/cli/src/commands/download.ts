import { createHash } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError } from 'commander';
import { assetResourceSchema, type AssetResource } from '@anime/contracts';
import { CliError, printable } from '../cli-error';
import { printJson } from '../output';
import type { CommandContext } from './context';

const assetId = (value: string): string => {
  if (!assetResourceSchema.shape.id.safeParse(value).success) throw new InvalidArgumentError('an asset id is a UUID, as `anime assets` prints it');
  return value;
};

/** Where the file goes: -o's file (or into -o's directory), else its library file name here. */
function targetOf(asset: AssetResource, output: string | undefined): string {
  const name = path.basename(asset.path);
  // The library names its files; a name that could not be one here (empty, `..`, a control character) is not used.
  const own = name && name !== '.' && name !== '..' && printable(name) === name ? name : `asset-${asset.id}`;
  if (output === undefined) return own;
  const isDirectory = (() => {
    try {
      return statSync(output).isDirectory();
    } catch {
      return false;
    }
  })();
  return isDirectory ? path.join(output, own) : output;
}

/** Streams `body` into `file` (created, never overwritten), hashing as it goes: no more than `max` bytes are taken. */
async function save(body: AsyncIterable<Uint8Array>, file: string, max: number): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  // Created before the first byte arrives: a stream opening it lazily could create it after a failure removed it.
  const handle = await open(file, 'wx');
  await pipeline(
    body,
    async function* (chunks: AsyncIterable<Uint8Array>) {
      for await (const chunk of chunks) {
        bytes += chunk.byteLength;
        // The API said how large the file is: an answer running past it is not that file.
        if (bytes > max) throw new CliError(`the file is larger than the ${max} bytes the API reports; nothing kept`);
        hash.update(chunk);
        yield chunk;
      }
    },
    handle.createWriteStream(),
  );
  return { sha256: hash.digest('hex'), bytes };
}

export function downloadCommand(context: CommandContext): Command {
  return new Command('download')
    .description("save an asset's file, streamed to disk and checked against the sha256 the API reports")
    .argument('<asset>', 'asset id, as `anime assets` prints it', assetId)
    .option('-o, --output <file>', 'where to write it, a file or a directory (default: its library file name, in the current directory)')
    .option('--force', 'overwrite the file when it exists')
    .action(async (id: string, options: { output?: string; force?: true }) => {
      const api = context.api();
      const asset = await api.get<AssetResource>(`/api/v1/assets/${id}`);
      const target = targetOf(asset, options.output);
      // Without --force the target is claimed before anything is fetched (created empty, exclusively):
      // an existing file is refused at once, and none can appear meanwhile to be overwritten.
      if (!options.force) {
        const claimed = await open(target, 'wx').catch((error: NodeJS.ErrnoException) => {
          throw new CliError(error.code === 'EEXIST' ? `${target} exists; --force overwrites it` : `cannot write ${target}: ${error.code ?? error.message}`);
        });
        await claimed.close();
      }
      // The file is written beside the target and renamed onto it once checked: a download that fails
      // (a cut connection, a checksum that does not match, Ctrl-C) leaves neither a partial file nor,
      // with --force, a destroyed old one.
      const partial = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.part`);
      const cleanUp = () => {
        rmSync(partial, { force: true });
        if (!options.force) rmSync(target, { force: true });
      };
      const interrupted = () => {
        cleanUp();
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      try {
        const saved = await save(await api.getStream(`/api/v1/assets/${id}/file`), partial, asset.bytes);
        if (saved.sha256 !== asset.sha256 || saved.bytes !== asset.bytes) {
          throw new CliError(`the file received (${saved.bytes} bytes, sha256 ${saved.sha256}) is not asset ${id} (${asset.bytes} bytes, sha256 ${asset.sha256}); nothing kept`);
        }
        await rename(partial, target);
      } catch (error) {
        cleanUp();
        throw error;
      } finally {
        process.off('SIGINT', interrupted);
      }
      if (context.json()) printJson({ id, file: path.resolve(target), bytes: asset.bytes, sha256: asset.sha256 });
      else console.log(printable(`${target}  ${asset.bytes} bytes, sha256 ${asset.sha256} verified`));
    });
}
