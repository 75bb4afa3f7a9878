import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { start } from '../src/server.js';
import { captureLogger } from './helpers/test-service.js';

// No container engine runs here: these check what can be checked without one. The build itself (npm ci, npm run
// build, npm ci --omit=dev, node dist/main.js) is exercised by hand in a scratch copy; see the report of issue 5.
const root = fileURLToPath(new URL('..', import.meta.url));
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.reduce<string[][]>((all, line) => (line.startsWith('FROM ') ? [...all, [line]] : (all.at(-1)?.push(line), all)), []);
const final = stages.at(-1)!;
const build = stages[0]!;

/** Whether .dockerignore sends `path` to the builder (last matching pattern wins; `*` and exact names only). */
function inContext(path: string): boolean {
  const top = path.replace(/^\.\//, '').split('/')[0]!;
  let included = true;
  for (const raw of readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, '');
    if (pattern !== '*' && /[*?[]/.test(pattern)) throw new Error(`inContext does not understand ${line}`);
    if (pattern === '*' || pattern === top) included = negated;
  }
  return included;
}

describe('Dockerfile', () => {
  it('copies only files that exist and that .dockerignore sends', () => {
    const copies = instructions.filter((line) => line.startsWith('COPY ') && !line.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(1, -1).filter((part) => !part.startsWith('--'));
      for (const source of sources) {
        expect(existsSync(join(root, source)), `${source} exists`).toBe(true);
        expect(inContext(source), `${source} is in the build context`).toBe(true);
      }
    }
    for (const kept of ['node_modules', 'dist', 'data', '.env', '.git', 'test', 'bench', 'coverage']) expect(inContext(kept), kept).toBe(false);
  });

  it('builds and runs on a supported Node LTS, the one .ci/run tests on too', () => {
    const majors = stages.map((stage) => Number(/^FROM node:(\d+)(\.\d+)*-(slim|alpine)\S*/.exec(stage[0]!)?.[1]));
    // Node 20 left support on 2026-04-30; 24 is an LTS line until 2028-04-30.
    expect(majors[0]).toBeGreaterThanOrEqual(24);
    expect(new Set(majors)).toEqual(new Set([majors[0]]));
    // .ci/run installs the npm registry's Node binary of the major the first FROM names, and runs the suite on it.
    const ci = readFileSync(join(root, '.ci/run'), 'utf8');
    expect(ci).toContain(`sed -n 's/^FROM node:\\([0-9][0-9]*\\).*/\\1/p' Dockerfile`);
    expect(ci).toMatch(/PATH="\$lts_bin:\$PATH" npx vitest run/);
  });

  it('builds in one stage and runs the built code in a small one with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build[0]).toMatch(/^FROM node:\d+(\.\d+)*-(slim|alpine)\S* AS build$/);
    expect(build).toContain('RUN npm ci --no-audit --no-fund');
    expect(build).toContain('RUN npm run build');
    expect(final[0]).toMatch(/^FROM node:\d+(\.\d+)*-(slim|alpine)\S*/);
    expect(final.some((line) => /^RUN npm ci --omit=dev\b/.test(line))).toBe(true);
    expect(final).toContain('COPY --from=build /app/dist ./dist');
    expect(final.at(-1)).toBe('CMD ["node", "dist/main.js"]');
    // tsconfig.build.json compiles src/ to dist/ with main.js at its root.
    expect(JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8'))).toMatchObject({ compilerOptions: { outDir: 'dist', rootDir: 'src' } });
  });

  it('runs as a non-root user in production mode, with the data directory a volume and the port exposed', () => {
    const env = final.find((line) => line.startsWith('ENV '))!;
    expect(env).toMatch(/NODE_ENV=production/);
    const dataDir = /DATA_DIR=(\S+)/.exec(env)?.[1];
    const port = /PORT=(\d+)/.exec(env)?.[1];
    expect(final).toContain(`VOLUME ["${dataDir}"]`);
    expect(final).toContain(`EXPOSE ${port}`);
    const user = final.filter((line) => line.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    // The volume's directory is created and handed to that user before USER switches to it.
    const chown = final.findIndex((line) => line.includes(`chown ${user!.slice(5)}:`) && line.includes(dataDir!));
    expect(chown).toBeGreaterThan(-1);
    expect(chown).toBeLessThan(final.indexOf(user!));
    expect(loadConfig({ DATA_DIR: dataDir, PORT: port })).toMatchObject({ dataDir, port: Number(port) });
  });

  it('has a HEALTHCHECK that needs only node and passes exactly while /healthz answers', async () => {
    const healthcheck = final.find((line) => line.startsWith('HEALTHCHECK '))!;
    expect(healthcheck).toMatch(/\/healthz/);
    const command = JSON.parse(/CMD (\[.*\])$/.exec(healthcheck)![1]!) as string[];
    expect(command[0]).toBe('node');
    const run = (port: number) =>
      new Promise<number | null>((resolve) => {
        const child = execFile(process.execPath, command.slice(1), { env: { PORT: String(port) }, timeout: 10_000 }, () => resolve(child.exitCode));
      });

    const dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-image-'));
    const { logger } = captureLogger('silent');
    const running = await start(loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir }), logger); // demo mode
    try {
      const port = Number(new URL(running.url).port);
      expect(await run(port)).toBe(0);
      await running.stop();
      expect(await run(port)).toBe(1);
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
