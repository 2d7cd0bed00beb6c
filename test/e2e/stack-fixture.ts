import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { mintKey } from '@anime/api-keys';
import { seedDemo } from '@anime/character';
import { createDb, type Db } from '@anime/db';
import { startStack, type Stack } from '@anime/stack';
import { checkAgainstApiDocument } from '../../services/gateway/test/openapi-conformance';
import { TERMINAL_STATUSES } from '@anime/contracts';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';

/**
 * Polls the REST resource until the generation is completed, failed or canceled, and returns it.
 * Gives up before jest's own 60 s test timeout, so a generation that never ends fails its test with
 * where it stood (the last resource read) and what each service logged last, not a bare timeout.
 */
export async function waitForGenerationEnd(fx: StackFixture, id: string, timeoutMs = 45_000) {
  let last: unknown;
  try {
    return await waitFor(async () => {
      const res = await fx.api.get(`/api/v1/generations/${id}`);
      last = res.data;
      return TERMINAL_STATUSES.includes(res.data.status) ? res.data : null;
    }, `generation ${id} to end`, timeoutMs, 100);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast read: ${JSON.stringify(last)}\n${serviceTails(fx.stack)}`);
  }
}

/** The last lines each process of the stack wrote, for a failure message. */
function serviceTails(stack: Stack, lines = 15): string {
  return Object.entries(stack.services)
    .map(([name, service]) => `--- ${name}, last ${lines} lines:\n${service?.tail(lines) ?? '(not running)'}`)
    .join('\n');
}

export interface StackFixture {
  stack: Stack;
  db: Db;
  /** The fixture's own database, for CLIs run against it. */
  databaseUrl: string;
  /** Sends the fixture's admin key. */
  api: AxiosInstance;
  /** An admin key in the fixture's database (for Socket.IO clients and raw requests). */
  apiKey: string;
  libraryDir: string;
  simulatorOutputDir: string;
  queuePrefix: string;
  close(): Promise<void>;
}

/** A database, a queue prefix, a library and a simulator output folder of its own, with the demo seeded. */
export async function startStackFixture(
  label: string,
  options: { simulatorStepMs?: number; comfyUrls?: string[]; extraEnv?: NodeJS.ProcessEnv; /** The services' REDIS_URL (e.g. with credentials); TEST_REDIS_URL by default. */ redisUrl?: string; /** A queue prefix chosen beforehand (e.g. for Redis ACL rules naming it); unique by default. */ queuePrefix?: string } = {},
): Promise<StackFixture> {
  const database: TestDatabase = await createTestDatabase(label);
  const libraryDir = await mkdtemp(path.join(tmpdir(), `${label}-library-`));
  const simulatorOutputDir = await mkdtemp(path.join(tmpdir(), `${label}-comfy-out-`));
  const queuePrefix = options.queuePrefix ?? uniqueQueuePrefix(label);
  await seedDemo({ databaseUrl: database.url, libraryDir });
  const echo = process.env.E2E_ECHO ? (line: string) => console.log(line) : undefined;
  const stack = await startStack({
    databaseUrl: database.url,
    redisUrl: options.redisUrl ?? TEST_REDIS_URL,
    queuePrefix,
    libraryDir,
    comfyUrls: options.comfyUrls,
    extraEnv: options.extraEnv,
    simulatorOutputDir,
    simulatorStepMs: options.simulatorStepMs ?? 20,
    logLevel: 'info',
    echo,
  });
  const db = createDb(database.url, { max: 3 });
  const { key: apiKey } = await mintKey(db, { name: 'e2e-admin', scopes: ['admin'] });
  const api = axios.create({ baseURL: stack.gatewayUrl, validateStatus: () => true, headers: { Authorization: `Bearer ${apiKey}` } });
  // Every answer the end-to-end tests see is checked against the OpenAPI document.
  api.interceptors.response.use((response) => {
    checkAgainstApiDocument({
      method: (response.config.method ?? 'get').toUpperCase(),
      url: response.config.url ?? '/',
      status: response.status,
      contentType: String(response.headers['content-type'] ?? ''),
      body: response.data,
      headers: response.headers,
    });
    return response;
  });
  return {
    stack,
    db,
    databaseUrl: database.url,
    api,
    apiKey,
    libraryDir,
    simulatorOutputDir,
    queuePrefix,
    close: async () => {
      await stack.stop();
      await db.$disconnect();
      await database.drop();
      await removeQueueKeys(queuePrefix, options.redisUrl);
      await rm(libraryDir, { recursive: true, force: true });
      await rm(simulatorOutputDir, { recursive: true, force: true });
    },
  };
}
