import type { Caller } from './caller';

/** Whether the caller's key reaches this project (a key without a project list reaches all). */
export function reachesProject(caller: Caller, project: string): boolean {
  return caller.projects === null || caller.projects.includes(project);
}

/** A Prisma `where` fragment limiting rows with a `project` column to the caller's projects. */
export function projectScope(caller: Caller): { project?: { in: string[] } } {
  return caller.projects === null ? {} : { project: { in: [...caller.projects] } };
}
