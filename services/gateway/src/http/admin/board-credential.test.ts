import { boardCredential } from './board-credential';

const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;

describe('boardCredential', () => {
  it('when HTTP Basic is sent, then the password is the key, whatever the user name (which may be empty)', () => {
    expect(boardCredential(basic('ops:ak_123'))).toBe('ak_123');
    expect(boardCredential(basic(':ak_123'))).toBe('ak_123');
    expect(boardCredential(basic('ops:with:colon'))).toBe('with:colon');
  });

  it('when a Bearer key is sent, then it is the key; nothing, an empty password or another scheme is no key', () => {
    expect(boardCredential('Bearer ak_456')).toBe('ak_456');
    expect(boardCredential(undefined)).toBeNull();
    expect(boardCredential(basic('ops:'))).toBeNull();
    expect(boardCredential(basic('no-colon'))).toBeNull();
    expect(boardCredential('Digest abc')).toBeNull();
  });
});
