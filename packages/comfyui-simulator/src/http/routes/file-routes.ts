import { createReadStream, statSync } from 'node:fs';
import { readMultipart } from '../../files/multipart';
import { resolveView } from '../../files/resolve-view';
import { storeUpload } from '../../files/store-upload';
import type { SimulatorState } from '../../simulator-state';
import { sendEmpty, sendJson, sendServerError } from '../respond';
import type { Router } from '../router';

export function addFileRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/view', (_req, res, { query }) => {
    const target = resolveView(query, state.env);
    if (target.status !== 200) {
      sendEmpty(res, target.status, state.profile.emptyBodyContentType);
      return;
    }
    const disposition = `${target.attachment ? 'attachment; ' : ''}filename="${target.filename.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    res.writeHead(200, {
      'Content-Type': target.contentType,
      'Content-Length': statSync(target.path).size,
      'Content-Disposition': disposition,
      'X-Content-Type-Options': 'nosniff',
    });
    createReadStream(target.path).pipe(res);
  });

  router.add('POST', '/upload/image', async (req, res) => {
    let outcome;
    try {
      outcome = storeUpload(await readMultipart(req), state.env);
    } catch {
      // A body that isn't multipart fails inside aiohttp's post() parser.
      sendEmpty(res, 400, state.profile.emptyBodyContentType);
      return;
    }
    if (outcome.status === 500) {
      sendServerError(res);
      return;
    }
    if (outcome.status === 400) {
      sendEmpty(res, 400, state.profile.emptyBodyContentType);
      return;
    }
    state.uploads.push(outcome.record);
    sendJson(res, 200, outcome.body);
  });
}
