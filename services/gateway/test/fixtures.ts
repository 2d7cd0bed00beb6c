import type { CharacterDefinitionInput } from '@anime/contracts';

export const kaiDefinition: CharacterDefinitionInput = {
  displayName: 'Kai Nakamura',
  appearance: { age: 17, hair: 'short black hair', eyes: 'amber eyes', distinguishingFeatures: ['scar over left eyebrow'] },
  outfits: [{ name: 'jacket', prompt: 'red bomber jacket' }],
  prompt: { positive: 'masterpiece, 1boy', negative: 'lowres' },
  triggerWords: ['kainakamura'],
};
