import type { Request } from 'express';

/** `:idOrSlug` of the parent router; merged params are not in the sub-router's inferred types. */
export const characterParam = (req: Request): string => (req.params as Record<string, string>).idOrSlug;
