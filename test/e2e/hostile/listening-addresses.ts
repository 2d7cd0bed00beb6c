import { readFile } from 'node:fs/promises';

const LISTEN = '0A';

/** The IPv4/IPv6 addresses a TCP port is listening on, read from /proc/net/tcp{,6} (hex as the kernel writes them). */
export async function listeningAddresses(port: number): Promise<string[]> {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== LISTEN) continue;
      const [address, hexPort] = local.split(':');
      if (parseInt(hexPort, 16) === port) found.push(decode(address));
    }
  }
  return found;
}

function decode(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  if (hex === '0'.repeat(32)) return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  return `ipv6:${hex}`;
}
