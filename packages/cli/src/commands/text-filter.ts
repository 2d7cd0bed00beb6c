import { InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';

/** A text filter of a list route's query schema (from @anime/contracts), e.g. `generationListQuerySchema.shape.project`. */
type TextFilterField = z.ZodOptional<z.ZodString>;

/**
 * A list command's text filter option (`--project <name>`, `--search <text>`), its value checked by
 * the field the route parses it with: what the gateway would refuse (longer than the field's
 * maximum, a NUL character) is a usage error (exit 2) naming the flag, before any request. Its
 * help says the maximum.
 */
export function textFilterOption(flags: string, description: string, field: TextFilterField): Option {
  const max = field.unwrap().maxLength;
  const option = new Option(flags, max === null ? description : `${description} (at most ${max} characters)`);
  return option.argParser((value: string) => {
    const result = field.safeParse(value);
    if (result.success) return value;
    const issue = result.error.issues[0];
    throw new InvalidArgumentError(issue?.code === 'too_big' ? `${option.long} must be at most ${issue.maximum} characters` : `${option.long} ${issue?.message ?? 'is not allowed'}`);
  });
}
