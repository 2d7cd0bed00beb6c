import type { ApiClient } from '../api-client';

/** What every command gets from the global options (--url, --key-file, --json). */
export interface CommandContext {
  api(): ApiClient;
  json(): boolean;
}
