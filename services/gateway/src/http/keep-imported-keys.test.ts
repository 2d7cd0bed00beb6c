import { keepImportedKeys } from './keep-imported-keys';

describe('keepImportedKeys', () => {
  it('when the base had a key the schema lacks, then the patched value of it is kept, nested too', () => {
    const base = { displayName: 'Kai', voice_notes: 'low', appearance: { hair: 'black', mole: 'left' } };
    const patched = { displayName: 'Kai', voice_notes: 'calm', appearance: { hair: 'blue', mole: 'left' } };
    const validated = { displayName: 'Kai', appearance: { hair: 'blue', distinguishingFeatures: [] } };
    expect(keepImportedKeys(validated, patched, base)).toEqual({
      displayName: 'Kai', voice_notes: 'calm', appearance: { hair: 'blue', distinguishingFeatures: [], mole: 'left' },
    });
  });

  it('when the patch adds a key the schema lacks and the base never had, then it is dropped as in a full body', () => {
    expect(keepImportedKeys({ displayName: 'Kai' }, { displayName: 'Kai', sneaky: 1 }, { displayName: 'Kai' })).toEqual({ displayName: 'Kai' });
  });

  it('when the patch deletes an imported key, then it stays deleted', () => {
    expect(keepImportedKeys({ displayName: 'Kai' }, { displayName: 'Kai' }, { displayName: 'Kai', voice_notes: 'low' })).toEqual({ displayName: 'Kai' });
  });
});
