import { shownUrl, stackReadyLine } from './stack-lines';

// `pnpm start` printed "stack ready: … ComfyUI http://user:password@host:8188" and the migrations'
// DATABASE_URL with its user name: the README promises COMFYUI_URLS credentials shown as *** wherever
// the URL is quoted, and the services' own log lines write `***@` for the whole user information.

describe('pnpm start: the URLs it prints', () => {
  it('when COMFYUI_URLS carries a user name and password, then the ready line shows *** in their place', () => {
    const line = stackReadyLine('http://127.0.0.1:8080', ['http://opsuser:s3cret@gpu-1:8188', 'http://gpu-2:8188']);
    expect(line).toBe('stack ready: gateway http://127.0.0.1:8080, ComfyUI http://***@gpu-1:8188, http://gpu-2:8188');
  });

  it('when DATABASE_URL carries a user name and password, then neither is printed; one without either is printed as it is', () => {
    expect(shownUrl('postgresql://anime:p%40ss@db:5432/anime', '(DATABASE_URL)')).toBe('postgresql://***@db:5432/anime');
    expect(shownUrl('postgresql://db:5432/anime', '(DATABASE_URL)')).toBe('postgresql://db:5432/anime');
    expect(shownUrl('not a url', '(DATABASE_URL)')).toBe('(DATABASE_URL)');
  });
});
