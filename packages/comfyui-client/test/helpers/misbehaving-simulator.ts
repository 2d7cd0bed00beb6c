import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient } from '../../src';

/** A simulator (1 ms steps) and a client connected to it, for a file whose tests arm the simulator's misbehaviour; disarmed after each test. */
export interface MisbehavingSimulator {
  sim: Simulator;
  client: ComfyClient;
}

/** Starts them before the file's tests and closes them after (jest hooks); the fields are set once its beforeAll ran. */
export function useMisbehavingSimulator(): MisbehavingSimulator {
  const fx = {} as MisbehavingSimulator;
  beforeAll(async () => {
    fx.sim = await startSimulator({ stepMs: 1 });
    fx.client = new ComfyClient({ baseUrl: fx.sim.url });
    await fx.client.connect();
  });
  afterEach(() => fx.sim.misbehave(undefined));
  afterAll(async () => {
    fx.client?.close();
    await fx.sim?.close();
  });
  return fx;
}
