export { ApiKeyError } from './key-errors';
export { hashKey, KEY_MARK } from './key-material';
export { mintKey, type MintedKey, type NewApiKey } from './mint-key';
export { verifyKey, type KeyRow, type KeyRowFinder, type Verification, type VerifiedKey } from './verify-key';
export { listKeys, type ListedKey } from './list-keys';
export { revokeKey } from './revoke-key';
export { lastUsedRecorder } from './touch-last-used';
export { DEFAULT_KEY_FILE, readKeyFile, writeKeyFile } from './key-file';
