// The e2e stack, the bench and the CLI tests run the compiled programs, as production does: the
// bundles are rebuilt before every jest run (esbuild, under a second) so they never lag the sources.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async () => {
  execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'build.ts')], { stdio: ['ignore', 'ignore', 'inherit'] });
};
