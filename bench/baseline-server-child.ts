/*
 * The limits for a warm feed: the same bytes and headers (ETag precomputed) served by a one-route Express 5 app, or
 * by plain node:http, in a process of their own. All run the same node:http server settings as src/server.ts, so
 * the comparison isolates what the app does per request.
 *
 *   express             the one-route app as Express documents it: http.createServer(app)
 *   express-prototypes  the same app on the server src/server.ts uses (createAppServer: requests and responses born
 *                       on Express's prototypes), so the service is also compared with Express at its best
 *   node                plain node:http
 *
 * argv: kind, body file, headers as JSON.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAppServer } from '../src/http/create-app-server.js';

const [kind, bodyFile, headersJson] = process.argv.slice(2);
const body = readFileSync(bodyFile!);
const headers = JSON.parse(headersJson!) as Record<string, string>;

let server: Server;
if (kind === 'express' || kind === 'express-prototypes') {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/feed.ics', (_req, res) => {
    res.writeHead(200, headers).end(body);
  });
  server = kind === 'express' ? createServer(app) : createAppServer(app);
} else {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/feed.ics') res.writeHead(200, headers).end(body);
    else res.writeHead(404).end();
  });
}
server.headersTimeout = 15_000;
server.requestTimeout = 30_000;
server.keepAliveTimeout = 65_000;
server.maxRequestsPerSocket = 1000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.ics` });
});
process.on('disconnect', () => process.exit(0));
