import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

/*
 * Feed tokens, format 1: base64url( 0x01 | iv (12) | AES-256-GCM( integrationId "\n" email ) | tag (16) ).
 *
 * The version byte travels in the clear (and is authenticated as associated data) so that a later format can be
 * added beside this one without breaking a URL already in someone's calendar. The integration id is inside, so one
 * service can serve many integrations. The email is encrypted, so a proxy log shows nothing about whose feed it
 * is. The IV is an HMAC of the plaintext (a synthetic IV): the same interviewer always gets the same URL, and two
 * different plaintexts never share an IV. GCM's tag check is constant-time, so a forged token learns nothing.
 */

const FORMAT_1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest token we even try to decode: well above any real one, far below anything that costs us. */
const MAX_TOKEN_CHARS = 1024;
/**
 * Tokens remembered after a successful decode. Setting up AES-GCM costs more per request than Express itself, and
 * a calendar polls the same URL for years; only authenticated tokens are remembered, so nobody without the secret
 * can fill this, and it is emptied when full.
 */
const MAX_REMEMBERED = 10_000;

/** Who a feed token belongs to. */
export interface FeedIdentity {
  readonly integrationId: string;
  /** Normalised email. */
  readonly email: string;
}

/** Makes and reads feed tokens with keys derived from `FEED_SECRET`. */
export interface FeedTokens {
  encode(identity: FeedIdentity): string;
  /** The identity inside `token`, or undefined for anything unknown, tampered or malformed. */
  decode(token: string): FeedIdentity | undefined;
}

/** Creates {@link FeedTokens} from the feed secret (at least 32 characters). */
export function createFeedTokens(secret: string): FeedTokens {
  const derive = (info: string) =>
    Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'interview-feeds', info, 32));
  const encryptionKey = derive('feed-token v1 encryption');
  const ivKey = derive('feed-token v1 synthetic iv');
  const associated = Buffer.from([FORMAT_1]);
  const remembered = new Map<string, FeedIdentity>();

  return {
    encode({ integrationId, email }) {
      if (integrationId.includes('\n')) throw new Error('integration id must not contain a line break');
      const plaintext = Buffer.from(`${integrationId}\n${email}`, 'utf8');
      const iv = createHmac('sha256', ivKey).update(plaintext).digest().subarray(0, IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
      cipher.setAAD(associated);
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return Buffer.concat([associated, iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    decode(token) {
      const known = remembered.get(token);
      if (known !== undefined) return known;
      if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
      const bytes = Buffer.from(token, 'base64url');
      if (bytes.length < 1 + IV_BYTES + 1 + TAG_BYTES || bytes[0] !== FORMAT_1) return undefined;
      // One URL per feed: a spelling with different padding bits is not the URL we handed out.
      if (bytes.toString('base64url') !== token) return undefined;
      const iv = bytes.subarray(1, 1 + IV_BYTES);
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const body = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
      let plaintext: string;
      try {
        const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(associated);
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
      const split = plaintext.indexOf('\n');
      if (split < 0) return undefined;
      const identity = Object.freeze({ integrationId: plaintext.slice(0, split), email: plaintext.slice(split + 1) });
      if (remembered.size >= MAX_REMEMBERED) remembered.clear();
      remembered.set(token, identity);
      return identity;
    },
  };
}
