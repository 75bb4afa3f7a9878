import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The security headers of every server-rendered page: a CSP that allows only this origin's own script, style and
 * images (no inline script), no framing, and HSTS on https. A page with forms posts to itself (`forms: 'self'`) and
 * keeps the same-origin referrer its cross-site check needs; a page without any sends no referrer at all, so a page
 * about a secret feed URL never hands its own address to Google or Microsoft.
 */
export function pageHeaders(options: { secure: boolean; forms: 'self' | 'none' }): RequestHandler {
  const own = ["'self'"];
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: own,
        styleSrc: own,
        imgSrc: own,
        ...(options.forms === 'self' ? { connectSrc: own } : {}),
        formAction: options.forms === 'self' ? own : ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // Not no-referrer on pages with forms: with it Chromium sends `Origin: null` on the page's own forms, which the
    // cross-site check must refuse. same-origin still keeps feed URLs in the page from leaking to Google or Outlook.
    referrerPolicy: { policy: options.forms === 'self' ? 'same-origin' : 'no-referrer' },
    strictTransportSecurity: options.secure,
  });
}
