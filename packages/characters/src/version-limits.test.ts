import { CharacterDomainError } from './character-domain-error';
import { assertVersionWithinLimits, MAX_DEFINITION_JSON_BYTES } from './version-limits';

const refusal = (content: Parameters<typeof assertVersionWithinLimits>[0]) => {
  try {
    assertVersionWithinLimits(content);
  } catch (error) {
    return error as CharacterDomainError;
  }
  return null;
};

describe('assertVersionWithinLimits (every version writer: API, bundle import, legacy import)', () => {
  it('when a version holds 200 attributes and a modest definition, then it passes', () => {
    expect(refusal({ definition: { displayName: 'x' }, attributes: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`a${i}`, i])) })).toBeNull();
  });

  it('when a version holds 201 attributes, then validation_failed (400) names the limit', () => {
    const error = refusal({ definition: {}, attributes: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`a${i}`, i])) });
    expect(error).toBeInstanceOf(CharacterDomainError);
    expect(error).toMatchObject({ code: 'validation_failed', status: 400 });
    expect(error!.message).toContain('at most 200 attributes per version');
  });

  it('when the definition is larger than the limit as JSON (keys the schema does not know, kept by imports), then validation_failed names it', () => {
    const error = refusal({ definition: { legacy: 'x'.repeat(MAX_DEFINITION_JSON_BYTES) }, attributes: {} });
    expect(error).toMatchObject({ code: 'validation_failed' });
    expect(error!.message).toContain(`more than the limit of ${MAX_DEFINITION_JSON_BYTES}`);
  });
});
