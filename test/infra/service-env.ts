// By path: @anime/config is a dependency of the services, not of the workspace root that holds test/.
import { characterConfigSchema, fileOrganizerConfigSchema, gatewayConfigSchema, orchestratorConfigSchema } from '../../packages/config/src';

/** Each service's environment schema (packages/config), by the name its Deployment and compose service have. */
export const SERVICE_SCHEMAS = {
  gateway: gatewayConfigSchema,
  character: characterConfigSchema,
  orchestrator: orchestratorConfigSchema,
  'file-organizer': fileOrganizerConfigSchema,
};

export type ServiceName = keyof typeof SERVICE_SCHEMAS;

export const variablesOf = (service: ServiceName): string[] => Object.keys(SERVICE_SCHEMAS[service].shape);

/** Every variable any service reads. */
export const ALL_VARIABLES = new Set((Object.keys(SERVICE_SCHEMAS) as ServiceName[]).flatMap(variablesOf));

/** The variables a service cannot start without: its schema refuses an environment that lacks them. */
export function requiredVariables(service: ServiceName): string[] {
  const result = SERVICE_SCHEMAS[service].safeParse({});
  return result.success ? [] : [...new Set(result.error.issues.map((issue: { path: PropertyKey[] }) => String(issue.path[0])))];
}
