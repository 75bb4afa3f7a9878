import { isIPv4, isIPv6 } from 'node:net';
import type { Request } from 'express';

/**
 * Who a request comes from, as the limits count clients: behind TRUST_PROXY proxies the client's own address
 * (`req.ip`; counting the proxy's would put every client in one count), an IPv4-mapped IPv6 address as its IPv4, and
 * an IPv6 address by its /64: one host is handed a whole /64, and counting each of its 2^64 addresses apart would let
 * it step around any per-address bound.
 */
export function clientAddress(req: Pick<Request, 'ip'> & { socket?: { remoteAddress?: string | undefined } }): string {
  return addressKey(req.ip ?? req.socket?.remoteAddress ?? 'unknown');
}

/** The key of one address (see {@link clientAddress}); text that is no IP address is its own key. */
export function addressKey(address: string): string {
  const plain = address.replace(/%.*$/, ''); // a zone id names an interface, not another host
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(plain)) return address;
  return `${expandIPv6(plain).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, lower-case and without leading zeros (an IPv4 tail as two groups). */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => parseInt(group, 16).toString(16));
}
