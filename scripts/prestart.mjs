// Runs before `npm start`. A development install (TypeScript present) builds first, as `npm start` always did. A
// production install (`npm ci --omit=dev` on a built tree) has no TypeScript and runs the dist/ it was given; it
// never needs a dev tool, and says what to do when there is nothing built to run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

let typescript = true;
try {
  createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
  typescript = false;
}

if (typescript) {
  const build = spawnSync('npm run build', { stdio: 'inherit', shell: true });
  process.exit(build.status ?? 1);
}
if (!existsSync('dist/main.js')) {
  process.stderr.write(
    'dist/main.js is missing, and this is a production install (no TypeScript) that cannot build it: run `npm ci` and `npm run build` first, then `npm ci --omit=dev` if you want the dev tools gone\n',
  );
  process.exit(1);
}
