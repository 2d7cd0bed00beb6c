import type { CharacterDefinitionInput } from '@anime/contracts';
import { buildConditioning } from './build-conditioning';
import { CharacterDomainError } from './character-domain-error';

const kai: CharacterDefinitionInput = {
  displayName: 'Kai Nakamura',
  appearance: {
    age: 17,
    hair: 'short black hair',
    eyes: 'amber eyes',
    build: 'slim athletic build',
    distinguishingFeatures: ['small scar over left eyebrow'],
  },
  outfits: [
    { name: 'School Uniform', prompt: 'navy gakuran, white shirt' },
    { name: 'jacket', prompt: 'red bomber jacket, black jeans' },
  ],
  prompt: { positive: 'masterpiece, best quality, 1boy', negative: 'lowres, bad hands, extra fingers' },
  triggerWords: ['kainakamura'],
  loras: [{ name: 'kai-nakamura.safetensors', weight: 0.8 }],
  checkpoint: 'anything-v5.safetensors',
};

const reference = { id: 'r1', label: 'Sakura', kind: 'face', sha256: 'a'.repeat(64), path: 'references/kai/aaaa-sakura.png' };

describe('buildConditioning', () => {
  it('when everything is given, then the positive prompt follows the fixed order', () => {
    const result = buildConditioning({
      definition: kai,
      attributes: { hair_color: 'dark blue', eye_color: 'amber', height_cm: 172 },
      outfit: 'jacket',
      userPrompt: 'standing on a rooftop, sunset',
      references: [reference],
    });

    expect(result.positive).toBe(
      [
        'kainakamura',
        '17 years old',
        'short black hair',
        'dark blue hair',
        'amber eyes',
        'slim athletic build',
        'small scar over left eyebrow',
        'red bomber jacket',
        'black jeans',
        'masterpiece',
        'best quality',
        '1boy',
        'standing on a rooftop',
        'sunset',
      ].join(', '),
    );
    expect(result.outfit).toBe('jacket');
    expect(result.loras).toEqual([{ name: 'kai-nakamura.safetensors', weight: 0.8 }]);
    expect(result.checkpoint).toBe('anything-v5.safetensors');
    expect(result.references).toEqual([reference]);
  });

  it('when the user repeats tags or leaves empty ones, then each tag appears once, first mention kept', () => {
    const result = buildConditioning({
      definition: kai,
      attributes: {},
      userPrompt: ' 1BOY,, kainakamura ,  running ,',
      references: [],
    });
    expect(result.positive.split(', ').filter((t) => t.toLowerCase() === '1boy')).toEqual(['1boy']);
    expect(result.positive.split(', ').filter((t) => t === 'kainakamura')).toHaveLength(1);
    expect(result.positive.endsWith('1boy, running')).toBe(true);
    expect(result.positive).not.toMatch(/,\s*,/);
  });

  it('when the user gives a negative, then it is merged after the definition negative without duplicates', () => {
    const result = buildConditioning({
      definition: kai,
      attributes: [],
      userPrompt: 'x',
      userNegative: 'bad hands, blurry',
      references: [],
    });
    expect(result.negative).toBe('lowres, bad hands, extra fingers, blurry');
  });

  it('when no outfit is chosen, then no outfit prompt is added and outfit is null', () => {
    const result = buildConditioning({ definition: kai, attributes: {}, userPrompt: 'x', references: [] });
    expect(result.outfit).toBeNull();
    expect(result.positive).not.toMatch(/gakuran|bomber/);
  });

  it('when the outfit differs only in case, then the definition outfit is used under its own name', () => {
    const result = buildConditioning({ definition: kai, attributes: {}, outfit: 'school uniform', userPrompt: 'x', references: [] });
    expect(result.outfit).toBe('School Uniform');
    expect(result.positive).toMatch(/navy gakuran, white shirt/);
  });

  it('when two outfits differ only in case, then the one named exactly is used, else the first', () => {
    const twins = { ...kai, outfits: [{ name: 'Jacket', prompt: 'red bomber jacket' }, { name: 'jacket', prompt: 'blue denim jacket' }] };
    const exact = buildConditioning({ definition: twins, attributes: {}, outfit: 'jacket', userPrompt: 'x', references: [] });
    expect([exact.outfit, exact.positive]).toEqual(['jacket', expect.stringContaining('blue denim jacket')]);
    expect(exact.positive).not.toContain('red bomber jacket');
    expect(buildConditioning({ definition: twins, attributes: {}, outfit: ' Jacket ', userPrompt: 'x', references: [] }).outfit).toBe('Jacket');
    expect(buildConditioning({ definition: twins, attributes: {}, outfit: 'JACKET', userPrompt: 'x', references: [] }).outfit).toBe('Jacket');
  });

  it('when the outfit is unknown, then outfit_not_found lists the outfits there are', () => {
    let error: unknown;
    try {
      buildConditioning({ definition: kai, attributes: {}, outfit: 'swimsuit', userPrompt: 'x', references: [] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CharacterDomainError);
    const domain = error as CharacterDomainError;
    expect(domain.code).toBe('outfit_not_found');
    expect(domain.status).toBe(400);
    expect(domain.details).toEqual({ outfit: 'swimsuit', available: ['School Uniform', 'jacket'] });
    expect(domain.message).toMatch(/School Uniform, jacket/);
  });

  it('when attributes carry appearance the definition lacks, then they fill it in as rows or record', () => {
    const result = buildConditioning({
      definition: { displayName: 'Plain' },
      attributes: [
        { key: 'age', value: 20 },
        { key: 'hair_color', value: 'silver' },
        { key: 'eye_color', value: 'green eyes' },
        { key: 'skin_tone', value: 'pale' },
        { key: 'is_protagonist', value: true },
      ],
      userPrompt: 'portrait',
      references: [],
    });
    expect(result.positive).toBe('20 years old, silver hair, green eyes, pale skin, portrait');
    expect(result.negative).toBe('');
    expect(result.loras).toEqual([]);
    expect(result).not.toHaveProperty('checkpoint');
  });

  it('when an attribute restates the free-text appearance, then it is not added twice', () => {
    const result = buildConditioning({ definition: kai, attributes: { hair_color: 'Black' }, userPrompt: 'x', references: [] });
    expect(result.positive).not.toMatch(/Black hair/);
  });

  it('when a reference never had its file (the legacy import found no image), then it is left out', () => {
    const result = buildConditioning({
      definition: kai,
      attributes: {},
      userPrompt: 'x',
      references: [reference, { ...reference, id: 'r2', sha256: 'missing:legacy-reference-7', missing: true }],
    });
    expect(result.references.map((r) => r.id)).toEqual(['r1']);
  });

  it('when a stored reference has since been found missing, then it stays, so the job fails on it rather than rendering without it', () => {
    const result = buildConditioning({
      definition: kai,
      attributes: {},
      userPrompt: 'x',
      references: [reference, { ...reference, id: 'r2', sha256: 'b'.repeat(64), missing: true }],
    });
    expect(result.references.map((r) => r.id)).toEqual(['r1', 'r2']);
  });
});
