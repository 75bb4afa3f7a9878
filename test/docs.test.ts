import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.js';

/* Docs that match the product (issue 24, finding 1): what the docs name exists in the code, and back. */

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
/** README.md and every page under docs/. */
const DOCS = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** Names in capitals with an underscore that the docs use and that are not settings of the service, each with why. */
const NOT_SETTINGS = new Map([
  ['PROXY_PORT', 'docker-compose.yml: the port nginx publishes'],
  ['JOB_ID', 'a placeholder for a job id in examples'],
]);

/** Every environment-variable-like name in `text`: capitals and digits with at least one underscore. */
const namesIn = (text: string) => new Set(text.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);

describe('the documentation', () => {
  it('names in docs/configuration.md and .env.example only variables the configuration reads, and every one of them', () => {
    const known = new Set(CONFIG_VARIABLES);
    for (const path of ['docs/configuration.md', '.env.example']) {
      const named = namesIn(read(path));
      for (const name of named) expect(known.has(name) || NOT_SETTINGS.has(name), `${path} names ${name}, which the configuration does not read`).toBe(true);
      // Back: each variable, PORT and HOST (no underscore) included, is named there as a word.
      for (const name of CONFIG_VARIABLES) expect(new RegExp(`\\b${name}\\b`).test(read(path)), `${path} does not name ${name}`).toBe(true);
      expect(named.size).toBeGreaterThan(30);
    }
  });

  it('names in README.md and docs/ no variable the configuration does not read', () => {
    const known = new Set(CONFIG_VARIABLES);
    for (const path of DOCS) {
      for (const name of namesIn(read(path))) expect(known.has(name) || NOT_SETTINGS.has(name), `${path} names ${name}`).toBe(true);
    }
    expect(read('docker-compose.yml')).toContain('${PROXY_PORT:-8080}');
  });

  it('runs only npm scripts that package.json has', () => {
    const scripts = new Set(Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts));
    const commands = new Set<string>();
    for (const path of [...DOCS, 'Dockerfile', 'docker-compose.yml', '.env.example', '.ci/run']) {
      for (const match of read(path).matchAll(/\bnpm (?:run(?:-script)? )?([a-z][\w:-]*)/g)) {
        const [command, name] = [match[0], match[1]!];
        // npm's own commands (npm ci, npm install) are not scripts; `npm start`, `npm test` and `npm run X` are.
        if (!command.includes(' run') && !['start', 'test'].includes(name)) continue;
        commands.add(name);
        expect(scripts.has(name), `${path}: ${command} is no script in package.json`).toBe(true);
      }
    }
    // The commands the README gives a newcomer are among those checked.
    for (const name of ['start', 'test', 'dev', 'feed-url', 'typecheck', 'check', 'build']) expect(commands.has(name), name).toBe(true);
  });

  it('tells interviewers what the product does today: links are replaced one at a time, at /me or by the admin', () => {
    const page = read('docs/subscribing.md');
    expect(page).not.toMatch(/cannot be switched off one at a time/i);
    expect(page).not.toMatch(/changing the service's secret/i);
    expect(page).toContain('Reset my link');
    expect(page).toContain('`/me`');
    expect(page).toMatch(/never download or import the file/i);
    // Every button it names is one a page shows: the feed link's own page (test/http/browser-pages.test.ts), or /me.
    const feedPage = read('src/http/admin-page/views/feed-page.eta');
    for (const button of ['Google Calendar', 'Outlook (work or school)', 'Outlook.com', 'Apple Calendar', 'Copy link']) {
      expect(page).toContain(`**${button}**`);
      expect(feedPage).toContain(`>${button}</`);
    }
    const me = read('src/http/admin-page/views/me.eta');
    expect(me).toContain('Reset my link');
    expect(me).toContain('>QR code<');
    expect(read('src/http/admin-page/views/link-gone.eta')).toContain(page.match(/\*\*"(This calendar link no longer works)"\*\*/)![1]!);
  });
});
