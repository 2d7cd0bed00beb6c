import WebSocket from 'ws';
import { pyRepr } from '../../src/python/py-format';

export interface WsMessage {
  type: string;
  data: any;
}

/** One frame as received: a JSON message, or a binary frame's bytes. */
export type WsFrame = { binary: false; message: WsMessage } | { binary: true; bytes: Buffer };

/** A test client socket that keeps every JSON message it receives (and, in `frames`, every frame in order). */
export class WsRecorder {
  readonly messages: WsMessage[] = [];
  /** Text and binary frames in the order they came. */
  readonly frames: WsFrame[] = [];
  /** The text of each message, as sent (messages[i] is raw[i] parsed). */
  readonly raw: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw, isBinary) => {
      if (isBinary) {
        this.frames.push({ binary: true, bytes: Buffer.from(raw as Buffer) });
        return;
      }
      this.raw.push(raw.toString());
      this.messages.push(JSON.parse(raw.toString()));
      this.frames.push({ binary: false, message: this.messages[this.messages.length - 1] });
      for (const wake of this.waiters) wake();
    });
  }

  static async connect(baseUrl: string, clientId?: string): Promise<WsRecorder> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/ws${clientId === undefined ? '' : `?clientId=${encodeURIComponent(clientId)}`}`;
    const socket = new WebSocket(url);
    const recorder = new WsRecorder(socket);
    await recorder.waitFor((m) => m.type === 'status');
    return recorder;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  async waitFor(predicate: (message: WsMessage) => boolean, timeoutMs = 15_000, from = 0): Promise<WsMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching ws message; got ${this.messages.map(summarize).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters = [];
    }
  }

  /** Messages from `from` up to and including the final executing{node:null} of the prompt. */
  async untilDone(promptId: string, from: number): Promise<WsMessage[]> {
    const done = await this.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId, 15_000, from);
    return this.messages.slice(from, this.messages.indexOf(done) + 1);
  }

  close(): void {
    this.socket.close();
  }
}

/** The one-line form used in SUMMARY_ws_sequences.json. */
export function summarize(message: WsMessage): string {
  switch (message.type) {
    case 'status':
      return `status(queue_remaining=${message.data.status.exec_info.queue_remaining})`;
    case 'execution_cached':
      return `execution_cached(nodes=${pyRepr(message.data.nodes)})`;
    case 'progress_state':
      return `progress_state(${Object.entries(message.data.nodes as Record<string, { state: string }>).map(([id, n]) => `${id}:${n.state}`).join(',')})`;
    case 'executing':
      return `executing(node=${pyRepr(message.data.node)})`;
    case 'executed':
      return `executed(node=${pyRepr(message.data.node)})`;
    case 'progress':
      return `progress(${message.data.value}/${message.data.max})`;
    default:
      return message.type;
  }
}
