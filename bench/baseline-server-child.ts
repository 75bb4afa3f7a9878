/*
 * The limits for a warm feed: the same bytes and headers (ETag precomputed) served by a one-route Express 5 app, or
 * by plain node:http, in a process of their own. Both run the same node:http server settings as src/server.ts, so
 * the comparison isolates what the app does per request.
 *
 * argv: kind (express | node), body file, headers as JSON.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

const [kind, bodyFile, headersJson] = process.argv.slice(2);
const body = readFileSync(bodyFile!);
const headers = JSON.parse(headersJson!) as Record<string, string>;

let listener: RequestListener;
if (kind === 'express') {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/feed.ics', (_req, res) => {
    res.writeHead(200, headers).end(body);
  });
  listener = app;
} else {
  listener = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/feed.ics') res.writeHead(200, headers).end(body);
    else res.writeHead(404).end();
  };
}
const server = createServer(listener);
server.headersTimeout = 15_000;
server.requestTimeout = 30_000;
server.keepAliveTimeout = 65_000;
server.maxRequestsPerSocket = 1000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.ics` });
});
process.on('disconnect', () => process.exit(0));
