import { optionalServerText, serverText } from '../server-text';

/** The prompt was stopped by /interrupt (ours or anyone's) before it finished. */
export class ComfyInterruptedError extends Error {
  readonly name = 'ComfyInterruptedError';
  readonly nodeId?: string;
  readonly nodeType?: string;

  constructor(
    readonly promptId: string,
    readonly details: Record<string, any> = {},
  ) {
    super(`ComfyUI interrupted prompt ${promptId}${details.node_type ? ` at node ${serverText(details.node_id)} (${serverText(details.node_type)})` : ''}`);
    this.nodeId = optionalServerText(details.node_id);
    this.nodeType = optionalServerText(details.node_type);
  }
}
