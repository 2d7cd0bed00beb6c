export { importLegacy, type ImportLegacyOptions, type ImportLog } from './legacy/import-legacy';
export { formatImportReport, type ImportReport, type CharacterImportResult, type MissingImage } from './legacy/import-report';
export { seedDemo, LEGACY_FIXTURE_DIR, type SeedDemoOptions } from './legacy/seed-demo';
export { startCharacterService } from './start';
