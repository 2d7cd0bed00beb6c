import { templateReferenceUse, txt2imgReferenceUse } from './reference-use';

const refs = [
  { sha256: 'a', kind: 'body' },
  { sha256: 'b', kind: 'face' },
  { sha256: 'c', kind: 'face' },
];

describe('txt2imgReferenceUse', () => {
  it('when the backend has IP-Adapter, then the first face reference is applied with the weight and the others are not_used', () => {
    expect(txt2imgReferenceUse(refs, { ipAdapterOnBackend: true, weight: 0.7 })).toEqual([
      { sha256: 'a', applied: false, appliedHow: { reason: 'not_used' } },
      { sha256: 'b', applied: true, appliedHow: { method: 'ipadapter', weight: 0.7 } },
      { sha256: 'c', applied: false, appliedHow: { reason: 'not_used' } },
    ]);
  });

  it('when there is no face reference, then the first one is applied', () => {
    expect(txt2imgReferenceUse([{ sha256: 'a', kind: 'body' }, { sha256: 'd', kind: 'other' }], { ipAdapterOnBackend: true, weight: 1 }).map((u) => u.applied)).toEqual([true, false]);
  });

  it('when the backend lacks IP-Adapter, then none is applied: no_ipadapter_on_backend', () => {
    expect(txt2imgReferenceUse(refs, { ipAdapterOnBackend: false, weight: 0.7 }).map((u) => u.appliedHow)).toEqual(refs.map(() => ({ reason: 'no_ipadapter_on_backend' })));
  });

  it('when IPADAPTER_WEIGHT is 0, then none is applied: ipadapter_disabled', () => {
    expect(txt2imgReferenceUse(refs, { ipAdapterOnBackend: true, weight: 0 }).map((u) => u.appliedHow)).toEqual(refs.map(() => ({ reason: 'ipadapter_disabled' })));
  });
});

describe('templateReferenceUse', () => {
  it('when a template has one face image slot, then the face reference is applied through it and the rest are not_used', () => {
    const use = templateReferenceUse(refs, { face: { type: 'image', node: '10', input: 'image', kind: 'face' } } as never);
    expect(use).toEqual([
      { sha256: 'a', applied: false, appliedHow: { reason: 'not_used' } },
      { sha256: 'b', applied: true, appliedHow: { method: 'template', param: 'face' } },
      { sha256: 'c', applied: false, appliedHow: { reason: 'not_used' } },
    ]);
  });
});
