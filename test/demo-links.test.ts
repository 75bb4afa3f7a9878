import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { start } from '../src/server.js';
import { parseIcs } from './helpers/ics.js';
import { captureLogger } from './helpers/test-service.js';

describe('demo mode’s logged links', () => {
  it('names each demo calendar in the log as its feed names it: with the company, since demo mode serves two', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-demo-links-'));
    const { logger, logs } = captureLogger('info');
    const running = await start(loadConfig({ PORT: '0', DATA_DIR: dataDir }), logger); // demo mode
    try {
      const demoLines = () => logs.lines.filter((line) => String(line.msg).startsWith('demo feed for '));
      for (let waited = 0; demoLines().length === 0 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      // Every demo line is logged in one go once both companies are walked.
      const lines = demoLines();
      expect(new Set(lines.map((line) => line.integration))).toEqual(new Set(['demo', 'demo-globex']));
      for (const line of lines) {
        const company = line.integration === 'demo' ? 'Acme Robotics' : 'Globex';
        expect(line.calendarName).toBe(`Interviews: ${String(line.interviewer)} (${company})`);
        expect(line).toMatchObject({ organization: company });
        expect(String(line.msg)).toContain(` at ${company}: `);
        const feed = await fetch(new URL(new URL(String(line.url)).pathname, running.url));
        expect(feed.status).toBe(200);
        const calendar = parseIcs(await feed.text());
        expect(calendar.name).toBe(line.calendarName);
        // The demo serves the linked models too: every event links into its (made-up) ATS.
        expect(calendar.events.length).toBeGreaterThan(0);
        for (const event of calendar.events) expect(event.description).toMatch(/\nOpen in ATS: https:\/\/ats\.demo\.example\/\w+\/applications\/\d+/);
        expect(logs.lines.filter((l) => String(l.msg).includes('could not be read'))).toEqual([]);
      }
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
