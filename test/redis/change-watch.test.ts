import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createChangeWatch, type ChangeNotice } from '../../src/redis/change-watch.js';
import { until } from '../helpers/integrations.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { captureLogger } from '../helpers/test-service.js';

const KEYS = { versionsKey: 'w:versions', epochKey: 'w:epoch', incarnationKey: 'w:incarnation' };
const run = <T>(_what: string, command: () => Promise<T>) => command();

describeRedis('the change watch', () => {
  let redis: RedisServer;
  let client: Redis;
  beforeEach(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { commandTimeout: 500, maxRetriesPerRequest: 1 });
    client.on('error', () => {}); // a stopped Redis is what one test is about
  });
  afterEach(async () => {
    client.disconnect();
    await redis.stop();
  });

  function watch() {
    const notices: ChangeNotice[] = [];
    const answering: boolean[] = [];
    const changes = createChangeWatch({ client, ...KEYS, log: captureLogger().logger, live: () => true, onAnswering: (now) => void answering.push(now) });
    changes.onNotice((notice) => notices.push(notice));
    return { changes, notices, answering };
  }
  /** A versioned write as the scripts make it: the field's version, and the counter. */
  const write = async (field: string, version: number) => {
    await client.hset(KEYS.versionsKey, field, version);
    await client.incr(KEYS.epochKey);
  };

  it('reads a change from the counter once, and again only when asked to (retry) or after a reconnect (forget)', async () => {
    const { changes, notices } = watch();
    await changes.begin(run);
    await write('doc:registry', 1);
    await write('snap:acme', 4);
    await changes.check();
    expect(notices).toEqual([{ field: 'doc:registry', version: 1 }, { field: 'snap:acme', version: 4 }]);
    await changes.check(); // the counter did not move
    expect(notices).toHaveLength(2);
    changes.retry('snap:acme');
    await changes.check();
    expect(notices.slice(2)).toEqual([{ field: 'snap:acme', version: 4 }]);
    changes.forget();
    await changes.check();
    expect(notices).toHaveLength(5);
  });

  it('takes notices from the channel, and ignores a message that is not one', () => {
    const { changes, notices } = watch();
    changes.message('snap:acme:2\n7'); // a field may hold colons; the version follows the last line break
    changes.message('no version');
    changes.message('\n3');
    changes.message('doc:links\nseven');
    expect(notices).toEqual([{ field: 'snap:acme:2', version: 7 }]);
  });

  it('finds a Redis that lost its data by its incarnation, and runs the put-back once under a new one', async () => {
    const { changes } = watch();
    await changes.begin(run);
    const first = await client.get(KEYS.incarnationKey);
    let putBacks = 0;
    changes.onLost(async () => void putBacks++);
    await changes.check();
    expect(putBacks).toBe(0);
    await client.flushall();
    await Promise.all([changes.check(), changes.check()]);
    await changes.settle();
    expect(putBacks).toBe(1);
    const next = await client.get(KEYS.incarnationKey);
    expect(next).not.toBeNull();
    expect(next).not.toBe(first);
    await changes.check();
    expect(putBacks).toBe(1);
  });

  it('says when Redis stops answering its check, and when it answers again', async () => {
    const { changes, answering } = watch();
    await changes.begin(run);
    await redis.stop();
    await changes.check();
    expect(changes.answering()).toBe(false);
    await changes.check(); // said once per outage
    expect(answering).toEqual([false]);
    await redis.restart();
    await until(() => client.status === 'ready', 'reconnected');
    await changes.check();
    expect(changes.answering()).toBe(true);
    expect(answering).toEqual([false, true]);
  });
});
