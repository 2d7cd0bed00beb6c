import { readdirSync, readFileSync } from 'node:fs';

/**
 * A file even root may not read (EACCES on open), to link a library file to: the tests run as root,
 * which reads any mode, but a write-only sysfs attribute (every bus has a `uevent` one, 4096 bytes
 * by stat) is refused to root too. Undefined where no such file is found.
 */
export const UNREADABLE_FILE: string | undefined = readdirSync('/sys/bus')
  .map((bus) => `/sys/bus/${bus}/uevent`)
  .find((file) => {
    try {
      readFileSync(file);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EACCES';
    }
  });
