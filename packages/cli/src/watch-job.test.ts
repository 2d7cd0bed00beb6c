import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { ApiClient } from './api-client';
import { watchJob, type ConnectionChange } from './watch-job';

const JOB = '00000000-0000-4000-8000-000000000001';

describe('watchJob when the gateway cannot follow the job for now', () => {
  it('when subscribe is answered database_unavailable (the gateway\'s PostgreSQL away), then it is said and asked again, and the watch goes on to the end', async () => {
    // The gateway's side of the protocol: the first subscribe meets a database outage, the next one replays the story.
    const http = createServer();
    const io = new Server(http);
    const answers = [
      { ok: false, error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } },
      { ok: true, status: 'running' },
    ];
    let subscribes = 0;
    io.on('connection', (socket) => {
      socket.on('subscribe', (_message: unknown, ack: (reply: unknown) => void) => {
        const answer = answers[Math.min(subscribes++, answers.length - 1)];
        ack(answer);
        if (answer.ok) {
          socket.emit('job:queued', { jobId: JOB, seq: 1 });
          socket.emit('job:completed', { jobId: JOB, seq: 2, assets: [] });
        }
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const api = new ApiClient({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, key: 'ak_test', keySource: 'test' });
    const changes: ConnectionChange[] = [];
    try {
      const terminal = await watchJob(api, JOB, () => undefined, (change) => changes.push(change));
      expect(terminal.name).toBe('job:completed');
      expect(subscribes).toBe(2);
      expect(changes).toEqual([{ state: 'lost', reason: 'database_unavailable' }, { state: 'back' }]);
    } finally {
      io.close();
      http.closeAllConnections();
    }
  }, 20_000);
});
