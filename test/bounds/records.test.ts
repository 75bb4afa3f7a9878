import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OTHER_INTERVIEWERS_NAMED } from '../../src/calendar/interview-event.js';
import { interviewRecord } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedBytes } from '../helpers/test-service.js';

/** Issue 14, "Bounds everywhere": one block per finding about the records Kombo sends, each against the real service. */

let fake: FakeKombo;
beforeEach(async () => {
  fake = await startFakeKombo();
});
afterEach(async () => {
  await fake.close();
});

describe('finding 7: each interviewer’s event listed every other one, so feed memory grew with the square of a panel', () => {
  it('keeps every feed of an interview with 10,000 interviewers small, naming a few and counting the rest', async () => {
    const count = 10_000;
    const users = Array.from({ length: count }, (_, n) => ({ first_name: 'P', last_name: String(n), email: `p${n}@x.co` }));
    fake.setRecords([interviewRecord({ id: 'iv-panel', video_conferencing_url: null, application: null, users })]);
    const service = buildTestService(fake);
    await service.sync.refresh();

    for (const owner of [0, 4_321, count - 1]) {
      const bytes = await feedBytes(service, `p${owner}@x.co`);
      expect(bytes.length).toBeLessThan(2 * 1024);
      const [event] = parseIcs(bytes).events;
      const named = Array.from({ length: count }, (_, n) => n)
        .filter((n) => n !== owner)
        .slice(0, MAX_OTHER_INTERVIEWERS_NAMED)
        .map((n) => `P ${n}`);
      expect(event!.description).toBe(`Other interviewers: ${named.join(', ')} and 9,969 more`);
    }
  });
});
