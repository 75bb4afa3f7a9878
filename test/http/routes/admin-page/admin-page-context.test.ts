import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import type { Pages } from '../../../../src/http/admin-page/create-pages.js';
import { createAdminPageContext, type AdminPageOptions } from '../../../../src/http/routes/admin-page/admin-page-context.js';

/** A context over fake pages that records what was refused; the sync scheduler knows `known` only. */
function contextOf() {
  const refused: { status: number; message: string }[] = [];
  const pages = {
    unsafe: () => [],
    refuse: (_res: Response, status: number, message: string) => void refused.push({ status, message }),
  } as unknown as Pages;
  const sync = { get: (id: string) => (id === 'known' ? { id } : undefined) };
  const context = createAdminPageContext({ pages, sync } as unknown as AdminPageOptions);
  return { context, refused };
}

const request = (query: Record<string, unknown>, params: Record<string, string> = {}) => ({ query, params }) as unknown as Request;

describe('the admin page’s shared context', () => {
  it('shows only its own fixed notices, whatever the query names', () => {
    const { context } = contextOf();
    expect(context.noticeOf(request({ notice: 'sync' }))).toBe('A sync has started; reload to see how it ended.');
    expect(context.noticeOf(request({ notice: 'revoked' }))).toBe('The link was replaced: the old one no longer works.');
    for (const notice of [undefined, '', 'constructor', 'toString', '__proto__', ['sync']]) expect(context.noticeOf(request({ notice }))).toBeNull();
  });

  it('finds the integration a path names, else answers a 404 page', () => {
    const { context, refused } = contextOf();
    const res = { locals: {} } as Response;
    expect(context.integrationOr404(request({}, { id: 'known' }), res)).toEqual({ id: 'known' });
    expect(refused).toEqual([]);
    expect(context.integrationOr404(request({}, { id: 'unknown' }), res)).toBeUndefined();
    expect(refused).toEqual([{ status: 404, message: 'No such integration.' }]);
  });
});
