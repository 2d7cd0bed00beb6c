import { promptIdFor } from './prompt-id';

describe('promptIdFor', () => {
  it('when called twice for one attempt, then the id is the same canonical UUID', () => {
    const id = promptIdFor('3f1c0a52-1111-4222-8333-444455556666', 1);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(promptIdFor('3f1c0a52-1111-4222-8333-444455556666', 1)).toBe(id);
  });
  it('when the attempt differs, then the id differs', () => {
    expect(promptIdFor('j', 1)).not.toBe(promptIdFor('j', 2));
  });
});
