import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { waitFor } from '@anime/testing';
import { sendItemsInBatches } from '../src/http/send-items-in-batches';

describe('sendItemsInBatches', () => {
  it('when every item is larger than the socket buffer (each write waits for drain), then the answer is whole and the response keeps no listener per wait', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ n: i + 1, text: 'x'.repeat(200_000) }));
    let listeners: { close: number; error: number; drain: number } | null = null;
    let before: { close: number; error: number; drain: number } | null = null;
    const count = (res: http.ServerResponse) => ({ close: res.listenerCount('close'), error: res.listenerCount('error'), drain: res.listenerCount('drain') });
    const app = express();
    app.get('/', (_req, res) => {
      before = count(res);
      void sendItemsInBatches(res, {
        batchSize: 10,
        nextBatch: async (last: { n: number } | null) => items.filter((item) => item.n > (last?.n ?? 0)).slice(0, 10),
        toJson: (item) => item,
      }).then(() => {
        listeners = count(res);
      });
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/' }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          answer.on('error', reject);
        });
      });
      expect((JSON.parse(body) as { items: { n: number }[] }).items.map((i) => i.n)).toEqual(items.map((i) => i.n));
      expect(listeners).not.toBeNull();
      // The waits' listeners are gone once each wait ended: at most what the response had to begin with.
      expect(listeners!.close).toBeLessThanOrEqual(before!.close);
      expect(listeners!.error).toBeLessThanOrEqual(before!.error);
      expect(listeners!.drain).toBeLessThanOrEqual(before!.drain);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  it('when a page is asked for, then at most its limit is sent, batch by batch, and nextCursor names the last one only when more follow', async () => {
    const items = Array.from({ length: 45 }, (_, i) => ({ n: i + 1 }));
    const takes: number[][] = [];
    let limit = 0;
    const app = express();
    app.get('/', (_req, res) => {
      const asked: number[] = [];
      takes.push(asked);
      void sendItemsInBatches(res, {
        batchSize: 10,
        nextBatch: async (last: { n: number } | null, take: number) => {
          asked.push(take);
          return items.filter((item) => item.n > (last?.n ?? 0)).slice(0, take);
        },
        toJson: (item) => item,
        page: { limit, cursorOf: (item) => String(item.n) },
      });
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const page = async (pageLimit: number) => {
        limit = pageLimit;
        const answer = await fetch(`http://127.0.0.1:${port}/`);
        const body = (await answer.json()) as { items: { n: number }[]; nextCursor: string | null };
        return { numbers: body.items.map((i) => i.n), nextCursor: body.nextCursor, takes: takes.at(-1) };
      };
      const upTo = (last: number) => Array.from({ length: last }, (_, i) => i + 1);
      // The batch holding the limit's last item is read one longer: whether more follow, without another read.
      expect(await page(20)).toEqual({ numbers: upTo(20), nextCursor: '20', takes: [10, 11] });
      expect(await page(1)).toEqual({ numbers: [1], nextCursor: '1', takes: [2] });
      expect(await page(45)).toEqual({ numbers: upTo(45), nextCursor: null, takes: [10, 10, 10, 10, 6] });
      expect(await page(44)).toEqual({ numbers: upTo(44), nextCursor: '44', takes: [10, 10, 10, 10, 5] });
      expect(await page(200)).toEqual({ numbers: upTo(45), nextCursor: null, takes: [10, 10, 10, 10, 10] });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('when the client goes away while the next batch is being read, then the answer stops there and holds nothing (it does not wait for a drain that never comes)', async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ n: i + 1, text: 'x'.repeat(100_000) }));
    let settled = false;
    const app = express();
    app.get('/', (_req, res) => {
      void sendItemsInBatches(res, {
        batchSize: 10,
        nextBatch: async (last: { n: number } | null) => {
          // The client closes its connection while the database is read (it gave up after the first bytes).
          if (last && !res.destroyed) await once(res, 'close');
          return items.filter((item) => item.n > (last?.n ?? 0)).slice(0, 10);
        },
        toJson: (item) => item,
      }).finally(() => {
        settled = true;
      });
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve) => {
        const request = http.get({ host: '127.0.0.1', port, path: '/' }, (answer) => {
          answer.once('data', () => {
            request.destroy();
            resolve();
          });
        });
        request.on('error', () => undefined);
      });
      await waitFor(() => settled || null, 'the answer to stop', 10_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
