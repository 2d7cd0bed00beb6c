export { CharacterDomainError, type CharacterErrorCode } from './domain/errors';
export { buildConditioning, type BuildConditioningInput, type Conditioning, type ConditioningReference } from './domain/build-conditioning';
export { resolveCharacter, type ResolvedCharacter, type ResolvedVersion } from './domain/resolve-character';
export { importLegacy, type ImportLegacyOptions, type ImportLog } from './legacy/import-legacy';
export { formatImportReport, type ImportReport, type CharacterImportResult, type MissingImage } from './legacy/import-report';
export { seedDemo, LEGACY_FIXTURE_DIR, type SeedDemoOptions } from './legacy/seed-demo';
export { referenceFilePath, type ReferenceFileName } from './domain/reference-file-path';
export { safeName } from './legacy/safe-name';
export { startCharacterService } from './start';
