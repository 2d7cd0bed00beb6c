import type { ApiScope } from '@anime/contracts';
import { ApiError } from '../api-error';

export const unauthenticated = (message: string) => new ApiError(401, 'unauthenticated', message);

export const insufficientScope = (scope: ApiScope) =>
  new ApiError(403, 'insufficient_scope', `this API key lacks the "${scope}" scope`, { scope });

/** A key limited to projects asked to create a generation in another one. */
export const projectNotAllowed = (project: string) =>
  new ApiError(403, 'insufficient_scope', `this API key may not use project "${project}"`, { scope: 'project', project });
