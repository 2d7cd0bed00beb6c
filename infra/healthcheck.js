// The image's HEALTHCHECK, for whichever program the container runs (its PID 1, chosen by the
// command in docker-compose.yml): that service's /readyz on the port its variable names, with the
// same defaults as packages/config; the simulator's /system_stats. A one-shot program (db:migrate)
// has nothing to check.
const { readFileSync } = require('node:fs');

const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
const command = argv.join(' ');
const SERVICES = [
  ['services/gateway/', 'PORT', 8080],
  ['services/character/dist/main.js', 'CHARACTER_PORT', 8081],
  ['services/orchestrator/', 'ORCHESTRATOR_PORT', 8082],
  ['services/file-organizer/', 'FILE_ORGANIZER_PORT', 8083],
];

function target() {
  for (const [path, variable, fallback] of SERVICES) {
    if (command.includes(path)) return `http://127.0.0.1:${process.env[variable] || fallback}/readyz`;
  }
  if (command.includes('packages/comfyui-simulator/')) {
    const at = argv.indexOf('--port');
    return `http://127.0.0.1:${at >= 0 ? argv[at + 1] : process.env.SIM_PORT || 8188}/system_stats`;
  }
  return null;
}

const url = target();
if (!url) process.exit(0);
fetch(url, { signal: AbortSignal.timeout(4000) })
  .then((res) => process.exit(res.ok ? 0 : 1))
  .catch(() => process.exit(1));
