import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeRedis, startRedis } from '../helpers/redis-server.js';
import { connectError } from '../helpers/loopback.js';
import { processGone } from '../helpers/replica-process.js';

describeRedis('the redis-server helper', () => {
  const clients: Redis[] = [];
  const client = (url: string) => {
    // No retry limit: a test waits through a restart as a replica's client would.
    const redis = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 20 });
    redis.on('error', () => {}); // connection refused while the server restarts
    clients.push(redis);
    return redis;
  };
  afterEach(() => {
    for (const redis of clients.splice(0)) redis.disconnect();
  });

  it('starts a server of its own that answers, and restart() brings it back empty on the same port', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    const db = client(redis.url);
    await db.set('interview-feeds:test', 'kept');
    expect(await db.get('interview-feeds:test')).toBe('kept');
    const firstPid = redis.pid!;

    await redis.restart();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(processGone(firstPid)).toBe(true);
    expect(redis.pid).not.toBe(firstPid);
    // The same client, reconnected to the same URL: the data is gone, as when Redis loses its memory.
    expect(await db.get('interview-feeds:test')).toBeNull();
    expect(await db.dbsize()).toBe(0);
    await redis.stop();
  });

  it('kill() ends the process at once and closes the port; restart() after it starts it again', async () => {
    const redis = await startRedis();
    const pid = redis.pid!;
    await redis.kill();
    expect(processGone(pid)).toBe(true);
    expect(redis.pid).toBeUndefined();
    expect(await connectError(redis.port)).toBe('ECONNREFUSED');

    await redis.restart();
    expect(await client(redis.url).ping()).toBe('PONG');
    await redis.stop();
    expect(await connectError(redis.port)).toBe('ECONNREFUSED');
  });

  it('runs without persistence, and two servers get two ports', async () => {
    const [one, two] = await Promise.all([startRedis(), startRedis()]);
    expect(one!.port).not.toBe(two!.port);
    const db = client(one!.url);
    expect(await db.config('GET', 'save')).toEqual(['save', '']);
    expect(await db.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await db.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    await Promise.all([one!.stop(), two!.stop()]);
  });
});
