import { emptyImageProbe, startSimulator, type Simulator } from '../src';

/**
 * request.json() is `loads(await self.text())` and request.text() is
 * `bytes_body.decode(self.charset or "utf-8")` (aiohttp 3.8.4 web_request.py; no check of the media
 * type), self.charset being the Content-Type's charset parameter as email's HeaderParser reads it
 * (helpers.py HeadersMixin._parse_content_type). So the charset a client names is honoured; a charset
 * Python has no codec for raises LookupError and bytes the codec can't read raise UnicodeDecodeError,
 * both uncaught: a 500. Each case below was run against Debian's aiohttp 3.8.4.
 */
describe('the charset of a JSON body', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  const text = `{"prompt": ${JSON.stringify(emptyImageProbe('charset'))}, "client_id": "caf\u00e9 \u20ac"}`;

  it.each([
    ['application/json; charset=latin-1', Buffer.from(text.replace(' \u20ac', ''), 'latin1'), 'caf\u00e9'],
    ['application/json; charset="ISO-8859-1"', Buffer.from(text.replace(' \u20ac', ''), 'latin1'), 'caf\u00e9'],
    ['application/json;CHARSET=cp1252', Buffer.concat([Buffer.from(text.split(' \u20ac')[0].replace('\u00e9', ''), 'latin1'), Buffer.from([0xe9, 0x20, 0x80]), Buffer.from(text.split('\u20ac')[1])]), 'caf\u00e9 \u20ac'],
    ['text/plain; charset=utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'caf\u00e9 \u20ac'],
    ['application/json; charset=UTF-16BE', Buffer.from(text, 'utf16le').swap16(), 'caf\u00e9 \u20ac'],
    ['application/json; charset=utf-8-sig', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'caf\u00e9 \u20ac'],
    ['application/json; charset=utf-8', Buffer.from(text), 'caf\u00e9 \u20ac'],
    ['application/json; charset=', Buffer.from(text), 'caf\u00e9 \u20ac'],
  ])('when the Content-Type is %s, then the body is read in it', async (contentType, body, clientId) => {
    const response = await fetch(`${sim.url}/prompt`, { method: 'POST', headers: { 'Content-Type': contentType }, body });
    expect(response.status).toBe(200);
    const { prompt_id: promptId } = (await response.json()) as { prompt_id: string };
    expect(sim.received.find((r) => r.promptId === promptId)?.clientId).toBe(clientId);
  });

  it.each([
    ['application/json; charset=no-such-codec', Buffer.from(text)],
    ['application/json; charset=ascii', Buffer.from(text)],
    ['application/json; charset=cp1252', Buffer.from(text.replace(' \u20ac', '\u0081'), 'latin1')],
    ['application/json; charset=utf-16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
    ['application/json; charset=utf-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
  ])('when the Content-Type is %s and the body does not read in it, then it is a 500 and nothing is queued', async (contentType, body) => {
    const before = sim.received.length;
    expect((await fetch(`${sim.url}/prompt`, { method: 'POST', headers: { 'Content-Type': contentType }, body })).status).toBe(500);
    expect(sim.received.length).toBe(before);
  });

  it('when POST /interrupt names a charset Python lacks, then the LookupError is a 500 (only JSONDecodeError is caught)', async () => {
    const response = await fetch(`${sim.url}/interrupt`, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=nope' }, body: '{}' });
    expect(response.status).toBe(500);
  });
});
