const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `value` is a UUID in its hyphenated form, as the uuid columns' ids are written: a value
 * that is not names no row (PostgreSQL would refuse it in a uuid comparison), and a slug must never
 * look like one.
 */
export function isUuidText(value: string): boolean {
  return UUID.test(value);
}
