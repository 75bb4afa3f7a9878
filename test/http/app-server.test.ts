import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppServer } from '../../src/http/create-app-server.js';

describe('createAppServer', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function listen(app: express.Express) {
    const server = createAppServer(app);
    const seen: { request: unknown; response: unknown }[] = [];
    // Runs before Express sees the pair: what node:http built, not what Express made of it.
    server.prependListener('request', (req, res) => seen.push({ request: Object.getPrototypeOf(req), response: Object.getPrototypeOf(res) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it("builds each request and response on the app's own prototypes, so Express has nothing to move", async () => {
    const app = express();
    app.get('/hello', (_req, res) => void res.end('hi'));
    const { url, seen } = await listen(app);
    expect(await (await fetch(`${url}/hello`)).text()).toBe('hi');
    expect(seen).toEqual([{ request: app.request, response: app.response }]);
  });

  it('serves an Express app exactly as a plain node:http server does: helpers, bodies, errors, keep-alive, HEAD', async () => {
    const app = express();
    app.use(express.json());
    app.get('/query', (req, res) => void res.status(201).json({ q: req.query.q, path: req.path, app: req.app === app }));
    app.post('/echo', (req, res) => void res.json({ body: req.body as unknown }));
    app.get('/fail', () => {
      throw new Error('boom');
    });
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).json({ error: error.message }));
    const { url } = await listen(app);

    const query = await fetch(`${url}/query?q=a%20b`);
    expect(query.status).toBe(201);
    expect(await query.json()).toEqual({ q: 'a b', path: '/query', app: true });
    const echo = await fetch(`${url}/echo`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"n":1}' });
    expect(await echo.json()).toEqual({ body: { n: 1 } });
    const fail = await fetch(`${url}/fail`);
    expect(fail.status).toBe(500);
    expect(await fail.json()).toEqual({ error: 'boom' });
    const head = await fetch(`${url}/query`, { method: 'HEAD' });
    expect(head.status).toBe(201);
    expect(await head.text()).toBe('');
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
  });
});
