/** A promise the test opens when it chooses: `opened` settles once `open()` is called. */
export interface Gate {
  open: () => void;
  opened: Promise<void>;
}

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** A seam a test holds: its first call opens `reached`, and every call waits until `release()`. */
export interface HeldSeam {
  hold: () => Promise<void>;
  reached: Promise<void>;
  release: () => void;
}

export function heldSeam(): HeldSeam {
  const released = gate();
  const reached = gate();
  const hold = () => {
    reached.open();
    return released.opened;
  };
  return { hold, reached: reached.opened, release: released.open };
}
