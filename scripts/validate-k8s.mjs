// Validates every resource of a kustomize build against the Kubernetes API's OpenAPI schemas (the
// `kubernetes-models` package, generated from them) and KEDA's CRD schemas (@kubernetes-models/keda).
// Usage: node scripts/validate-k8s.mjs <overlay dir>...   (runs `kubectl kustomize` on each)
// Exits non-zero naming each resource that fails, or whose apiVersion/kind has no schema here.
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

const dirs = process.argv.slice(2);
if (!dirs.length || dirs.includes('--help')) {
  console.error('usage: node scripts/validate-k8s.mjs <kustomization dir>...');
  process.exit(dirs.includes('--help') ? 0 : 2);
}

/** `apps/v1` → module path of its models; core `v1` lives at kubernetes-models/v1. */
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  const candidates = group === 'keda.sh'
    ? [`@kubernetes-models/keda/keda.sh/${version}/${kind}`]
    : [group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`];
  for (const specifier of candidates) {
    try {
      return (await import(specifier))[kind];
    } catch {
      // no such model
    }
  }
  return null;
}

let failures = 0;
for (const dir of dirs) {
  const built = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  const docs = parseAllDocuments(built).map((d) => d.toJS()).filter(Boolean);
  let checked = 0;
  for (const doc of docs) {
    const name = `${dir}: ${doc.kind}/${doc.metadata?.name}`;
    const Model = await modelFor(doc.apiVersion, doc.kind);
    if (!Model) {
      console.error(`${name}: no schema for ${doc.apiVersion} ${doc.kind}`);
      failures += 1;
      continue;
    }
    try {
      new Model(doc).validate();
      checked += 1;
    } catch (error) {
      console.error(`${name}: ${error.message}`);
      failures += 1;
    }
  }
  console.log(`${dir}: ${checked} of ${docs.length} resources valid against the Kubernetes${docs.some((d) => d.apiVersion.startsWith('keda.sh')) ? ' and KEDA' : ''} schemas`);
}
process.exit(failures ? 1 : 0);
