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

  it('when a URL the parser reads leniently carries credentials (one slash, none, backslashes), then they are not printed either', () => {
    // Before: `http:/opsuser:s3cret@gpu-1:8188` and the others were printed as they are, password included.
    for (const value of ['http:/opsuser:s3cret@gpu-1:8188', 'http:opsuser:s3cret@gpu-1:8188', 'http:\\\\opsuser:s3cret@gpu-1:8188']) {
      expect(shownUrl(value, '(COMFYUI_URLS)')).not.toContain('s3cret');
    }
  });

  it("when a URL with credentials has an '@' in its path, then only the credentials are hidden, its host still shown", () => {
    expect(shownUrl('http://opsuser:s3cret@gpu-1:8188/a@b', '(COMFYUI_URLS)')).toBe('http://***@gpu-1:8188/a@b');
    // Before: 'http://***@b', the host gone (a backslash is a path separator to the parser).
    expect(shownUrl('http://opsuser:s3cret@gpu-1:8188\\a@b', '(COMFYUI_URLS)')).toBe('http://***@gpu-1:8188\\a@b');
  });
});
