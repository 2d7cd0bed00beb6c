/** The hash every stored reference has: the sha256 of its bytes, 64 lowercase hex digits. */
const CONTENT_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Whether a reference row stands for an image the library never held: the legacy import records
 * one it could not find as missing, under a placeholder hash (`missing:legacy-reference-<id>`), and
 * nothing can load, serve or bring it back. A reference stored once and later found gone or altered
 * is missing too, but not this: its hash still names the bytes that restore it, and a job using it
 * fails with `reference_unavailable` rather than quietly rendering without it.
 */
export function isNeverStoredReference(reference: { missing?: boolean; sha256: string }): boolean {
  return reference.missing === true && !CONTENT_SHA256.test(reference.sha256);
}
