import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { maskComposite } from '../../files/mask-composite';
import { readMultipart, type MultipartForm } from '../../files/multipart';
import { resolveView } from '../../files/resolve-view';
import { storeUpload, type SaveImage } from '../../files/store-upload';
import type { SimulatorState } from '../../simulator-state';
import { sendEmpty, sendJson, sendServerError } from '../respond';
import type { Router } from '../router';

/**
 * Files up to this size are answered from one read: a stream costs several thread-pool hand-offs per
 * file (for a 2.6 KB image, 0.36-0.57 ms of CPU per request against 0.09-0.11 read whole, client
 * included), and the bench's simulators serve one image per job. Larger files are streamed.
 */
const READ_WHOLE_MAX_BYTES = 8 * 2 ** 20;

export function addFileRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/view', (_req, res, { query }) => {
    const target = resolveView(query, state.env);
    if (target.status !== 200) {
      sendEmpty(res, target.status, state.profile.emptyBodyContentType);
      return;
    }
    const disposition = `${target.attachment ? 'attachment; ' : ''}filename="${target.filename.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    const stat = statSync(target.path, { bigint: true });
    const size = Number(stat.size);
    const whole = size <= READ_WHOLE_MAX_BYTES ? readFileSync(target.path) : undefined;
    // web.FileResponse's headers (10_probe_view_response_meta.json): aiohttp's Etag is mtime_ns-size in hex.
    res.writeHead(200, {
      'Content-Disposition': disposition,
      'Content-Type': target.contentType,
      Etag: `"${stat.mtimeNs.toString(16)}-${stat.size.toString(16)}"`,
      'Last-Modified': new Date(Number(stat.mtimeMs)).toUTCString(),
      'Content-Length': whole?.length ?? size,
      'Accept-Ranges': 'bytes',
    });
    if (whole) res.end(whole);
    else createReadStream(target.path).pipe(res);
  });

  const upload = async (req: IncomingMessage, res: ServerResponse, save?: (form: MultipartForm) => SaveImage) => {
    let form: MultipartForm;
    try {
      form = await readMultipart(req);
    } catch {
      // A body that isn't multipart fails inside aiohttp's post() parser.
      sendEmpty(res, 400, state.profile.emptyBodyContentType);
      return undefined;
    }
    // What raises inside image_upload (a file that can't be written, a mask that can't be applied) is a 500.
    const outcome = storeUpload(form, state.env, save?.(form));
    if (outcome.status === 500) sendServerError(res);
    else if (outcome.status === 400) sendEmpty(res, 400, state.profile.emptyBodyContentType);
    else sendJson(res, 200, outcome.body);
    return outcome.status === 200 ? outcome : undefined;
  };

  router.add('POST', '/upload/image', async (req, res) => {
    const stored = await upload(req, res);
    if (stored) state.uploads.push(stored.record);
  });

  // image_upload with the mask's alpha put onto the image `original_ref` names (mask-composite.ts).
  router.add('POST', '/upload/mask', async (req, res) => {
    await upload(req, res, (form) => maskComposite(form, state.env));
  });
}
