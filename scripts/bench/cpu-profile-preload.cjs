// Preloaded into a service (`--require`, which NODE_OPTIONS allows where `--cpu-prof` is refused) to
// write a V8 CPU profile of its whole life when it exits: <CPU_PROFILE_DIR>/<program>-<pid>.cpuprofile,
// readable by Chrome DevTools or `node --cpu-prof`'s tooling. Sampling interval CPU_PROFILE_INTERVAL_US
// (default 1000 µs). For `pnpm bench` with BENCH_SERVICE_NODE_OPTIONS="--require <this file>".
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.CPU_PROFILE_INTERVAL_US) || 1000 });
  session.post('Profiler.start');
  // An in-thread session answers synchronously, so the profile is written within the 'exit' handler.
  process.once('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      const program = path.basename(path.dirname(path.dirname(process.argv[1] ?? 'node'))) || 'node';
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${program}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
