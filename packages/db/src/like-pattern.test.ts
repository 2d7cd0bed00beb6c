import { literalLikePattern } from './like-pattern';

describe('literalLikePattern', () => {
  it('when text holds LIKE wildcards or the escape character, then each is escaped with a backslash', () => {
    expect(literalLikePattern('100%_a\\b')).toBe('100\\%\\_a\\\\b');
  });

  it('when text holds none, then it is unchanged', () => {
    expect(literalLikePattern('Kai Nakamura 日本')).toBe('Kai Nakamura 日本');
  });
});
