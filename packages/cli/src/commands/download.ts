import { createHash, randomBytes } from 'node:crypto';
import { constants, lstatSync, rmSync, statSync } from 'node:fs';
import { copyFile, link, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { constants as os } from 'node:os';
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

/** The most bytes one name of a path may take (NAME_MAX of Linux's and macOS's file systems). */
const NAME_MAX_BYTES = 255;

const outputPath = (value: string): string => {
  if (!value) throw new InvalidArgumentError('-o names the file or directory to write (e.g. -o kai.png, -o renders/)');
  // A name no file system takes (ENAMETOOLONG) is said before anything is asked of the gateway, not
  // once the whole file was fetched (with --force nothing looked at the name before it was placed).
  const tooLong = value.split(path.sep).find((name) => Buffer.byteLength(name) > NAME_MAX_BYTES);
  if (tooLong !== undefined) throw new InvalidArgumentError(`a file or directory name is at most ${NAME_MAX_BYTES} bytes, and one in -o has ${Buffer.byteLength(tooLong)}`);
  return value;
};

/** What download reads of the asset: an answer without them (another server at --url) is refused, not trusted. */
const assetAnswerSchema = assetResourceSchema.pick({ id: true, path: true, sha256: true }).extend({ bytes: assetResourceSchema.shape.bytes.nonnegative() });
type AssetAnswer = Pick<AssetResource, 'id' | 'path' | 'sha256' | 'bytes'>;

function assetAnswer(body: unknown, id: string): AssetAnswer {
  const parsed = assetAnswerSchema.safeParse(body);
  // Its size bounds what is written: without it, an answer without end would fill the disk.
  if (!parsed.success || parsed.data.id.toLowerCase() !== id.toLowerCase()) throw new CliError(`the answer for asset ${id} is not an asset (its id, path, size and sha256); is --url the gateway?`);
  return parsed.data;
}

/** Where the file goes: -o's file (or into -o's directory), else its library file name here. */
function targetOf(asset: AssetAnswer, output: string | undefined): string {
  const name = path.basename(asset.path);
  // The library names its files; a name that could not be one here (empty, `..`, a control character,
  // longer than a file name may be) is not used, nor a hidden one (`.bashrc`, `.npmrc`: read by other programs).
  const own = name && !name.startsWith('.') && Buffer.byteLength(name) <= 255 && printable(name) === name ? name : `asset-${asset.id}`;
  if (output === undefined) return own;
  const isDirectory = (() => {
    try {
      return statSync(output).isDirectory();
    } catch {
      return false;
    }
  })();
  // `dir/` names a directory: one that is not there is said before the transfer, not after it.
  if (!isDirectory && output.endsWith(path.sep)) throw new CliError(`${output} is not a directory; nothing fetched`);
  return isDirectory ? path.join(output, own) : output;
}

/** Streams `body` into `handle`'s file, hashing as it goes: no more than `max` bytes are taken. */
async function save(body: AsyncIterable<Uint8Array>, handle: FileHandle, max: number): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
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

/** Whether something (a file, a directory, a symlink, even a dangling one) is at `file`. */
function taken(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Puts the checked file in place: with `force` over what is there, else only where nothing is, the
 * check and the placing one step (a hard link fails when the name is taken, a symlink's target
 * included, which it never follows). A file system without hard links gets a copy made the same way.
 */
async function place(partial: string, target: string, force: boolean): Promise<void> {
  if (force) return rename(partial, target);
  try {
    await link(partial, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${target} exists; --force overwrites it`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    await copyFile(partial, target, constants.COPYFILE_EXCL);
  }
  await rm(partial, { force: true });
}

/** Signals that end a download: its partial file is removed first, and it exits as the signal would (128 + its number). */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function downloadCommand(context: CommandContext): Command {
  return new Command('download')
    .description("save an asset's file, streamed to disk and checked against the sha256 the API reports")
    .argument('<asset>', 'asset id, as `anime assets` prints it', assetId)
    .option('-o, --output <file>', 'where to write it, a file or a directory (default: its library file name, in the current directory)', outputPath)
    .option('--force', 'overwrite the file when it exists')
    .action(async (id: string, options: { output?: string; force?: true }) => {
      const api = context.api();
      const asset = assetAnswer(await api.get<unknown>(`/api/v1/assets/${id}`), id);
      const target = targetOf(asset, options.output);
      const force = Boolean(options.force);
      // A file system's refusal (ENOSPC, EACCES, ENAMETOOLONG…) names the file, not only the system call.
      const cannotWrite = (error: unknown) => {
        const failed = error as NodeJS.ErrnoException;
        return failed?.syscall && failed.code ? new CliError(`cannot write ${target}: ${failed.code}; nothing kept`) : error;
      };
      // An existing file is refused at once, before anything is fetched; it is checked again, in the
      // same step as the file is put there, once the download is whole (see place).
      try {
        if (!force && taken(target)) throw new CliError(`${target} exists; --force overwrites it`);
      } catch (error) {
        throw cannotWrite(error);
      }
      // The file is written beside the target under a name of its own (hidden, short whatever the
      // target's) and put in place once checked: a download that fails or is stopped (a cut
      // connection, a checksum that does not match, Ctrl-C, kill, a closed terminal) leaves nothing
      // under the target's name, nor, with --force, destroys the old file. (Only a SIGKILL leaves
      // the hidden partial file.) Its name is random: another download's partial file (the same
      // asset, a reused pid) is never taken for its own.
      const partial = path.join(path.dirname(target), `.anime-${id}.${randomBytes(6).toString('hex')}.part`);
      let created = false;
      const cleanUp = () => {
        if (created) rmSync(partial, { force: true });
      };
      const interrupted = (signal: NodeJS.Signals) => {
        cleanUp();
        process.exit(128 + os.signals[signal]);
      };
      for (const signal of ENDING_SIGNALS) process.once(signal, interrupted);
      try {
        // Created before the first byte is asked for: a directory that cannot be written fails before any transfer.
        const handle = await open(partial, 'wx');
        created = true;
        const body = await api.getStream(`/api/v1/assets/${id}/file`).catch(async (error: unknown) => {
          await handle.close();
          throw error;
        });
        const saved = await save(body, handle, asset.bytes);
        if (saved.sha256 !== asset.sha256 || saved.bytes !== asset.bytes) {
          throw new CliError(`the file received (${saved.bytes} bytes, sha256 ${saved.sha256}) is not asset ${id} (${asset.bytes} bytes, sha256 ${asset.sha256}); nothing kept`);
        }
        await place(partial, target, force);
      } catch (error) {
        cleanUp();
        throw cannotWrite(error);
      } finally {
        for (const signal of ENDING_SIGNALS) process.off(signal, interrupted);
      }
      if (context.json()) printJson({ id, file: path.resolve(target), bytes: asset.bytes, sha256: asset.sha256 });
      else console.log(printable(`${target}  ${asset.bytes} bytes, sha256 ${asset.sha256} verified`));
    });
}
