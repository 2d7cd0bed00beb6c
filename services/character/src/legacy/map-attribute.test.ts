import { attributeKey, mapAttribute } from './map-attribute';

describe('mapAttribute', () => {
  it('when a type is declared, then the value is converted to it', () => {
    expect(mapAttribute('height_cm', '172.5', 'float')).toEqual({ key: 'height_cm', type: 'number', value: 172.5 });
    expect(mapAttribute('age', ' 17 ', 'INTEGER')).toEqual({ key: 'age', type: 'number', value: 17 });
    expect(mapAttribute('is_student', 't', 'bool')).toEqual({ key: 'is_student', type: 'boolean', value: true });
    expect(mapAttribute('is_student', 'No', 'boolean')).toEqual({ key: 'is_student', type: 'boolean', value: false });
    expect(mapAttribute('hair_color', '42', 'text')).toEqual({ key: 'hair_color', type: 'string', value: '42' });
  });

  it('when the value does not fit its declared type, then it is kept as text with the reason', () => {
    expect(mapAttribute('age', 'teen', 'integer')).toEqual({ key: 'age', type: 'string', value: 'teen', problem: '"teen" is not a integer' });
    expect(mapAttribute('flag', 'maybe', 'boolean')).toMatchObject({ type: 'string', value: 'maybe' });
  });

  it('when no type is declared, then only plain numbers and true/false are inferred', () => {
    expect(mapAttribute('n', '12', null)).toMatchObject({ type: 'number', value: 12 });
    expect(mapAttribute('b', 'false', null)).toMatchObject({ type: 'boolean', value: false });
    expect(mapAttribute('code', '007', null)).toMatchObject({ type: 'string', value: '007' });
    expect(mapAttribute('hand', 'left', null)).toMatchObject({ type: 'string', value: 'left' });
  });

  it('when the legacy name is not snake_case, then the key becomes snake_case', () => {
    expect(attributeKey('Dominant Hand')).toBe('dominant_hand');
    expect(attributeKey('eyeColor')).toBe('eye_color');
    expect(attributeKey('3d-model')).toBe('attr_3d_model');
  });
});
