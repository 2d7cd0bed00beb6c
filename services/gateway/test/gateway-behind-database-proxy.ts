import { io, type Socket } from 'socket.io-client';
import { startTcpProxy, TEST_POSTGRES, type TcpProxy } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import type { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

/** A gateway whose PostgreSQL connections go through a proxy a test can cut, with a character, a generation and a subscriber. */
export interface GatewayBehindDatabaseProxy {
  proxy: TcpProxy;
  gateway: TestGateway;
  /** A JSON client with the gateway's admin key. */
  api: ReturnType<typeof jsonClient>;
  /** A Socket.IO client connected with the admin key. */
  socket: Socket;
  /** A generation of the character `kai`, created while the database answered. */
  generationId: string;
  /** Disconnects the socket, lets the database through again (healed, accepting) and stops the gateway and the proxy. */
  close(): Promise<void>;
}

/** The gateway (startTestGateway) over a TCP proxy in front of PostgreSQL, with `kai`, one generation of it and a connected socket. */
export async function startGatewayBehindDatabaseProxy(label: string): Promise<GatewayBehindDatabaseProxy> {
  const proxy = await startTcpProxy(TEST_POSTGRES);
  const gateway = await startTestGateway(label, { connectVia: (url) => proxy.urlFor(url) });
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  const generationId = (await api.post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop' })).body.id;
  const socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, auth: { token: gateway.apiKey } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return {
    proxy,
    gateway,
    api,
    socket,
    generationId,
    close: async () => {
      socket.disconnect();
      proxy.heal();
      await proxy.accept();
      await gateway.close();
      await proxy.close();
    },
  };
}
