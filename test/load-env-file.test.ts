import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/loopback.js';

/* Running from a config file (issue 24, finding 6): `npm start` reads ./.env, the process environment wins, and a
   production install starts without dev tools. */

const root = fileURLToPath(new URL('..', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx/cli');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node <script>` (TypeScript through tsx) in `cwd`, with only the environment given. */
function run(cwd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { cwd, timeout: 50_000, env: { PATH: process.env.PATH ?? '', ...env } }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe('the process entry with a .env in its working directory', { timeout: 60_000 }, () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'interview-feeds-env-file-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('reads the settings it holds, and a variable set in the environment wins over the file', async () => {
    writeFileSync(join(work, '.env'), '# a comment\nPORT=eighty\nLOG_LEVEL=loud\nKOMBO_BASE_URL="kombo"\n');
    const result = await run(work, [TSX, join(root, 'src/main.ts')], { LOG_LEVEL: 'info' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // PORT and KOMBO_BASE_URL came from the file; LOG_LEVEL=loud did not, since the environment set it.
    expect(result.stderr.trim().split('\n').sort()).toEqual([
      'config error: KOMBO_BASE_URL must be an http(s) URL without query or fragment, such as https://api.kombo.dev/v1',
      'config error: PORT must be a port number from 0 to 65535',
    ]);
  });

  it('starts on what the file says, logging that it read it', async () => {
    const port = await freePort();
    writeFileSync(join(work, '.env'), `HOST=127.0.0.1\nPORT=${port}\nDATA_DIR=${join(work, 'data')}\nLOG_LEVEL=debug\n`);
    const child = spawn(process.execPath, [TSX, join(root, 'src/main.ts')], { cwd: work, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const lines: Record<string, unknown>[] = [];
      await new Promise<void>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const parts = buffered.split('\n');
          buffered = parts.pop()!;
          for (const part of parts) lines.push(JSON.parse(part) as Record<string, unknown>);
          if (lines.some((line) => line.msg === 'listening')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited (${code}) before listening`)));
      });
      expect(lines.find((line) => line.msg === 'listening')).toMatchObject({ host: '127.0.0.1', port });
      expect(lines.find((line) => String(line.msg).startsWith('settings read from .env'))).toMatchObject({ envFile: join(work, '.env') });
      // The environment's LOG_LEVEL=info won over the file's debug: no debug line was written.
      expect(lines.filter((line) => line.level === 'debug')).toEqual([]);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('gives npm run feed-url the same settings', async () => {
    writeFileSync(join(work, '.env'), 'KOMBO_API_KEY=key\nKOMBO_INTEGRATION_ID=greenhouse:env\nFEED_SECRET=env-file-feed-secret-0123456789abcdef\nPUBLIC_URL=https://from-the-file.example.com\n');
    const result = await run(work, [TSX, join(root, 'src/cli/feed-url.ts'), 'ada@example.com'], { PUBLIC_URL: 'https://feeds.example.com' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}integration:\s+greenhouse:env$/m);
    expect(result.stdout).toMatch(/^ {2}feed URL:\s+https:\/\/feeds\.example\.com\/feeds\//m);
  });
});

describe('npm start on a production install', () => {
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
  let work: string;
  beforeEach(() => {
    // Outside this tree, so no node_modules above it: TypeScript is not installed there.
    work = mkdtempSync(join(tmpdir(), 'interview-feeds-prod-'));
    mkdirSync(join(work, 'scripts'));
    cpSync(join(root, 'scripts/prestart.mjs'), join(work, 'scripts/prestart.mjs'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('runs the built code with node alone, before which nothing needs a dev tool', () => {
    expect(scripts.start).toBe('node dist/main.js');
    expect(scripts.prestart).toBe('node scripts/prestart.mjs');
    expect(`${scripts.start} ${scripts.prestart}`).not.toMatch(/\b(tsc|tsx|npm run build)\b/);
  });

  it('starts what is built, without TypeScript, and says what to do when nothing is', async () => {
    const missing = await run(work, ['scripts/prestart.mjs'], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('dist/main.js is missing, and this is a production install (no TypeScript) that cannot build it: run `npm ci` and `npm run build` first');

    mkdirSync(join(work, 'dist'));
    writeFileSync(join(work, 'dist/main.js'), '');
    const built = await run(work, ['scripts/prestart.mjs'], {});
    expect(built).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
