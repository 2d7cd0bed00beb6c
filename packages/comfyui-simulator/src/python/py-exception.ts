/** A Python exception as ComfyUI would report it: `type` is the class name, `message` is `str(ex)`. */
export class PyException extends Error {
  constructor(
    readonly pyType: string,
    readonly pyMessage: string,
    readonly traceback: string[] = [],
  ) {
    super(pyMessage);
    this.name = 'PyException';
  }
}
