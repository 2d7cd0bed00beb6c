import { sendText } from '../respond';
import type { Router } from '../router';
import { clearRouteHeaders } from '../server-headers';

/**
 * GET /ws that is no WebSocket upgrade (an upgrade never reaches the router: socket-hub.ts takes it).
 * ComfyUI's handler calls WebSocketResponse.prepare, whose handshake raises HTTPBadRequest (aiohttp
 * 3.8.4 web_ws.py _handshake): first for an Upgrade header that isn't "websocket", then for a
 * Connection header without "upgrade". Raised, it passes the Content-Security-Policy middleware by.
 */
export function addWsRoutes(router: Router): void {
  router.add('GET', '/ws', (req, res) => {
    const { upgrade, connection } = req.headers;
    const text =
      (upgrade ?? '').toLowerCase().trim() !== 'websocket'
        ? `No WebSocket UPGRADE hdr: ${upgrade ?? 'None'}\n Can "Upgrade" only to "WebSocket".`
        : `No CONNECTION upgrade hdr: ${connection ?? 'None'}`;
    clearRouteHeaders(res);
    sendText(res, 400, text);
  });
}
