import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { connectError } from '../helpers/loopback.js';
import { descendantsOf, processGone, startReplica } from '../helpers/replica-process.js';
import { ADMIN_TOKEN, FEED_SECRET, testEnv } from '../helpers/test-service.js';

async function waitForReady(url: string): Promise<void> {
  for (;;) {
    const response = await fetch(`${url}/readyz`);
    if (response.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the replica process helper', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord()]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('runs the real service against fake Kombo until ready, and kill() leaves no process and no listener', async () => {
    const replica = await startReplica(testEnv(fake, { LOG_LEVEL: 'info' }));
    expect(replica.url).toBe(`http://127.0.0.1:${replica.port}`);
    expect(replica.port).toBeGreaterThan(0);
    await waitForReady(replica.url);
    await replica.waitForLog((line) => line.msg === 'refresh succeeded');
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(replica.logs().find((line) => line.msg === 'listening')).toMatchObject({ port: replica.port, host: '127.0.0.1' });
    // The JSON logs of the service itself, secrets kept out of them.
    for (const line of replica.logs()) expect(line.service).toBe('interview-feeds');
    for (const line of replica.logs()) for (const secret of [FEED_SECRET, ADMIN_TOKEN, fake.apiKey]) expect(JSON.stringify(line)).not.toContain(secret);

    // The pid is the service's own node process: what it started (tsx's compiler) are its children, no wrapper's.
    const children = descendantsOf(replica.pid);
    await replica.kill();
    expect(processGone(replica.pid)).toBe(true);
    for (const child of children) expect(processGone(child)).toBe(true);
    expect(await connectError(replica.port)).toBe('ECONNREFUSED');
    expect(await replica.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Killed, it wrote no goodbye.
    expect(replica.logs().some((line) => line.msg === 'shutting down')).toBe(false);
  });

  it('stop() sends SIGTERM: the service shuts down cleanly and exits 0', async () => {
    const replica = await startReplica(testEnv(fake));
    await waitForReady(replica.url);
    expect(await replica.stop()).toEqual({ code: 0, signal: null });
    expect(replica.logs().find((line) => line.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM' });
    expect(replica.logs().at(-1)).toMatchObject({ msg: 'stopped' });
    expect(processGone(replica.pid)).toBe(true);
    expect(await connectError(replica.port)).toBe('ECONNREFUSED');
  });

  it('pid is the service itself, no wrapper: SIGKILL sent straight to it closes the port', async () => {
    const replica = await startReplica(testEnv(fake));
    expect(await connectError(replica.port)).toBeUndefined();
    process.kill(replica.pid, 'SIGKILL');
    expect(await replica.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // A wrapper would die alone and leave the service listening, orphaned.
    expect(await connectError(replica.port)).toBe('ECONNREFUSED');
  });

  it('rejects with the service’s own words when it cannot start, and waitForLog gives up in time', async () => {
    await expect(startReplica(testEnv(fake, { FEED_SECRET: 'short' }))).rejects.toThrow(/exited \(code 1\)[\s\S]*FEED_SECRET must be at least 32 characters/);

    const replica = await startReplica(testEnv(fake));
    await expect(replica.waitForLog((line) => line.msg === 'never logged', 200)).rejects.toThrow(/no matching line within 200 ms/);
    await replica.kill();
  });
});
