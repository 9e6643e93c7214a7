// `node scripts/protos.mjs copy` puts a copy of the repository's protos folder into the package (npm prepack);
// `node scripts/protos.mjs remove` takes it out again (npm postpack), so the repository's folder stays the one source.
import { cpSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.resolve(pkg, '..', '..', 'protos');
const target = path.join(pkg, 'protos');
const action = process.argv[2];

if (action === 'copy') {
  if (!existsSync(path.join(source, 'aurigraph', 'v1', 'transactions.proto'))) {
    console.error(`no protos at ${source}: pack the package from its place in the repository (clients/typescript)`);
    process.exit(1);
  }
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, { recursive: true });
} else if (action === 'remove') {
  rmSync(target, { recursive: true, force: true });
} else {
  console.error('usage: node scripts/protos.mjs copy|remove');
  process.exit(2);
}
