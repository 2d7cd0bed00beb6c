/** Small fetch wrappers for talking to the simulator in tests. */
export async function postJson(baseUrl: string, path: string, body: unknown): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

export async function getJson(baseUrl: string, path: string): Promise<any> {
  const response = await fetch(`${baseUrl}${path}`);
  if (!response.ok) throw new Error(`GET ${path} → ${response.status}`);
  return response.json();
}

export async function waitForHistory(baseUrl: string, promptId: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const history = await getJson(baseUrl, `/history/${promptId}`);
    if (history[promptId]) return history[promptId];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no history for ${promptId}`);
}
