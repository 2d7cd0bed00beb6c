import { mapLegacyDefinition } from './map-definition';

describe('mapLegacyDefinition', () => {
  it('when given the legacy layout, then it maps onto the schema and keeps unknown keys where they were', () => {
    const { definition, keptKeys } = mapLegacyDefinition(
      {
        name: 'Kai',
        appearance: { hair: 'black hair', distinguishing_features: ['scar'], skin: 'tan' },
        outfits: [{ name: 'uniform', prompt: 'gakuran', season: 'winter' }],
        positive_prompt: '1boy',
        negative_prompt: 'lowres',
        trigger_words: 'kai, kaiboy',
        lora: { file: 'kai.safetensors', strength: 0.7 },
        base_model: 'anything.safetensors',
        voice_notes: 'calm',
      },
      { name: 'fallback' },
    );
    expect(definition).toMatchObject({
      displayName: 'Kai',
      appearance: { hair: 'black hair', distinguishingFeatures: ['scar'], skin: 'tan' },
      outfits: [{ name: 'uniform', prompt: 'gakuran', season: 'winter' }],
      prompt: { positive: '1boy', negative: 'lowres' },
      triggerWords: ['kai', 'kaiboy'],
      loras: [{ name: 'kai.safetensors', weight: 0.7 }],
      checkpoint: 'anything.safetensors',
      voice_notes: 'calm',
    });
    expect(keptKeys.sort()).toEqual(['appearance.skin', 'outfits.0.season', 'voice_notes']);
  });

  it('when outfits are a name-to-prompt map and the name is absent, then both are still understood', () => {
    const { definition } = mapLegacyDefinition({ outfits: { casual: 'hoodie' } }, { name: 'Fallback Name', description: 'from the row' });
    expect(definition).toMatchObject({ displayName: 'Fallback Name', description: 'from the row', outfits: [{ name: 'casual', prompt: 'hoodie' }] });
  });

  it('when the definition cannot fit the schema, then the error names the field', () => {
    expect(() => mapLegacyDefinition({ name: 'Kai', outfits: [{ name: 'x' }] }, { name: 'Kai' })).toThrow(/outfits\.0\.prompt/);
    expect(() => mapLegacyDefinition('not json', { name: 'Kai' })).toThrow(/not a JSON object/);
  });
});
