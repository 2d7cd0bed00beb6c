import { attachmentHeader } from './download-name';

const SAFE_ASCII = /^attachment; filename="[A-Za-z0-9._-]+"/;

describe('attachmentHeader', () => {
  it('when the name is plain ASCII, then it is sent as is, once', () => {
    expect(attachmentHeader('kai-nakamura_v3_01.png')).toBe('attachment; filename="kai-nakamura_v3_01.png"');
  });

  it('when the name holds quotes, line breaks, separators or reserved characters, then none reach the header', () => {
    for (const name of ['a"b.png', 'x\r\nSet-Cookie: y=1.png', '../../etc/passwd', 'C:\\Windows\\win.ini', 'a\u0000b.png', 'a;b=c.png', 'what?*<>|.png']) {
      const header = attachmentHeader(name);
      expect(header).toMatch(SAFE_ASCII);
      expect(header).not.toMatch(/[\r\n\u0000\\]|\.\.\/|"[^"]*"[^;]*"/);
      expect(header.split('"').length).toBe(3);
    }
  });

  it('when the name is not ASCII, then filename is its ASCII spelling and filename* the UTF-8 name', () => {
    expect(attachmentHeader('étoile 星.png')).toBe(`attachment; filename="etoile_.png"; filename*=UTF-8''%C3%A9toile%20%E6%98%9F.png`);
  });

  it('when the name is longer than 120 characters, then it is cut before its extension, never inside a surrogate pair', () => {
    // An emoji straddling the cut once left a lone surrogate that made the header throw (a 400 invalid_path).
    expect(attachmentHeader(`${'x'.repeat(115)}${'😀'.repeat(5)}.png`, 'reference-1')).toBe(`attachment; filename="${'x'.repeat(115)}.png"`);
    expect(attachmentHeader(`${'x'.repeat(114)}${'😀'.repeat(5)}.png`, 'reference-1')).toBe(
      `attachment; filename="${'x'.repeat(114)}_.png"; filename*=UTF-8''${'x'.repeat(114)}%F0%9F%98%80.png`,
    );
    const long = attachmentHeader(`${'y'.repeat(200)}.png`);
    expect(long).toBe(`attachment; filename="${'y'.repeat(116)}.png"`);
  });

  it('when nothing usable is left, then the fallback name is used', () => {
    expect(attachmentHeader('...', 'asset-1.png')).toBe('attachment; filename="asset-1.png"');
    expect(attachmentHeader('星', 'reference-1')).toMatch(/^attachment; filename="reference-1"; filename\*=UTF-8''%E6%98%9F$/);
  });

  it('when the name has no ASCII letter or digit before its extension, then filename is the fallback with that extension, not the bare extension', () => {
    expect(attachmentHeader('日本.png', 'reference-1')).toBe(`attachment; filename="reference-1.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`);
    expect(attachmentHeader('星.zip', 'character.zip')).toBe(`attachment; filename="character.zip"; filename*=UTF-8''%E6%98%9F.zip`);
  });
});
