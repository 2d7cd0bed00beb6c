import { createServer, type Server } from 'node:net';
import { freePort } from './free-port';
import { portProblem } from './port-check';

describe('portProblem', () => {
  let held: Server | undefined;
  afterEach(() => held?.close());

  it('when every port is free and distinct, then there is no problem', async () => {
    expect(await portProblem([{ variable: 'PORT', value: String(await freePort()) }, { variable: 'CHARACTER_PORT', value: String(await freePort()) }])).toBeNull();
  });

  it('when a port is taken, then one line names the port and its variable', async () => {
    const port = await freePort();
    held = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => held!.once('listening', r));
    expect(await portProblem([{ variable: 'ORCHESTRATOR_PORT', value: String(port) }])).toBe(
      `port ${port} (ORCHESTRATOR_PORT) is already in use: stop what listens there or set ORCHESTRATOR_PORT to a free port`,
    );
  });

  it('when a port is not a number or given twice, then it says which variables', async () => {
    expect(await portProblem([{ variable: 'PORT', value: 'abc' }])).toBe('PORT must be a port number (1-65535)');
    const port = String(await freePort());
    expect(await portProblem([{ variable: 'PORT', value: port }, { variable: 'SIMULATOR_PORT', value: port }])).toBe(`PORT and SIMULATOR_PORT are both ${port}: give each its own port`);
  });
});
