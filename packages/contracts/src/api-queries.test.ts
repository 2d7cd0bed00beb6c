import { assetListQuerySchema, generationListQuerySchema, MAX_PAGE_LIMIT, parseCharacterFilter } from './api-queries';

describe('list query integers', () => {
  it('when limit is digits, then it is that number; when absent, then 50', () => {
    expect(generationListQuerySchema.parse({ limit: '7' }).limit).toBe(7);
    expect(generationListQuerySchema.parse({ limit: String(MAX_PAGE_LIMIT) }).limit).toBe(MAX_PAGE_LIMIT);
    expect(generationListQuerySchema.parse({}).limit).toBe(50);
  });

  it.each([['1e2'], ['0x10'], [' 5'], ['5.0'], [''], ['-3']])('when limit is %j, then it is refused as not digits', (limit) => {
    const result = generationListQuerySchema.safeParse({ limit });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['limit'], message: 'must be a whole number written in digits, given once' });
  });

  it('when limit is given twice, then it is refused as given more than once, not as NaN', () => {
    const result = generationListQuerySchema.safeParse({ limit: ['1', '2'] });
    expect(result.error?.issues[0]?.message).toBe('must be a whole number written in digits, given once');
  });

  it('when limit or version is out of range, then the range is named', () => {
    expect(generationListQuerySchema.safeParse({ limit: '0' }).error?.issues[0]?.message).toMatch(/>=1/);
    expect(generationListQuerySchema.safeParse({ limit: '201' }).error?.issues[0]?.message).toMatch(/<=200/);
    expect(assetListQuerySchema.safeParse({ version: '1e3' }).error?.issues[0]?.path).toEqual(['version']);
    expect(assetListQuerySchema.parse({ version: '12' }).version).toBe(12);
  });

  it('when character names a version with @N, then it parses to the slug or id and N; any other @ is refused naming character', () => {
    expect(parseCharacterFilter('kai')).toEqual({ idOrSlug: 'kai' });
    expect(parseCharacterFilter('kai@12')).toEqual({ idOrSlug: 'kai', version: 12 });
    for (const character of ['kai', 'kai@1', 'kai@999999999', '']) expect(generationListQuerySchema.safeParse({ character }).success).toBe(true);
    for (const character of ['kai@', 'kai@0', 'kai@01', 'kai@x', 'kai@1@2', '@1', 'kai@1000000000']) {
      expect(generationListQuerySchema.safeParse({ character }).error?.issues[0]?.path).toEqual(['character']);
      expect(assetListQuerySchema.safeParse({ character }).error?.issues[0]?.path).toEqual(['character']);
    }
    expect(assetListQuerySchema.safeParse({ character: 'kai@2', version: '2' }).success).toBe(true);
    expect(assetListQuerySchema.safeParse({ character: 'kai@2', version: '3' }).error?.issues[0]?.path).toEqual(['version']);
  });
});
