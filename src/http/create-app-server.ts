import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';

type Constructor<T, A extends unknown[]> = (this: T, ...args: A) => void;

/**
 * An HTTP server for `app` whose requests and responses are born with the app's own prototypes (`app.request`,
 * `app.response`), so they are exactly the objects Express would make of them.
 *
 * Express 5 moves every request and response onto those prototypes with `Object.setPrototypeOf` as it starts handling
 * them. V8 answers each such move with a hidden-class migration, and every property access on them after it misses
 * its inline caches: on Node 20 that is most of the CPU an Express request costs. Built on the right prototype from
 * the start, the call finds nothing to change. Measured on this machine, a one-route Express app went from 275 to
 * 81 µs of CPU per request (BENCHMARKS.md). Node's server takes the two constructors as documented options; it
 * calls `new` on them with the arguments below. `options` are Node's other server options.
 */
export function createAppServer(app: Express, options: { connectionsCheckingInterval?: number } = {}): Server {
  function AppRequest(this: IncomingMessage, socket: Socket): void {
    (IncomingMessage as unknown as Constructor<IncomingMessage, [Socket]>).call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    (ServerResponse as unknown as Constructor<ServerResponse, [IncomingMessage, unknown]>).call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return createServer(
    {
      IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof ServerResponse,
      ...options,
    },
    app,
  );
}
