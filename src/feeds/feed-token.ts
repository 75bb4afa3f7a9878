import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { FEED_DETAILS, type FeedDetail } from '../config.js';

/*
 * Feed tokens, format 1: base64url( 0x01 | iv (12) | AES-256-GCM( integrationId "\n" email ) | tag (16) ).
 * Format 2, the same with 0x02 and, encrypted, the JSON array [integrationId, email | null, team | null, detail | null,
 * generation]: a link with a detail level bound in, a team feed (team "*" for every interview, "j:" + job id for one
 * job's), or a link issued again after a revocation (generation). A person's link with none of these is still
 * written in format 1, so the URL an interviewer was handed before formats 2 existed is the one they get today.
 *
 * The version byte travels in the clear (and is authenticated as associated data) so that a later format can be
 * added beside this one without breaking a URL already in someone's calendar. The integration id is inside, so one
 * service can serve many integrations. The email is encrypted, so a proxy log shows nothing about whose feed it
 * is. The IV is an HMAC of the plaintext (a synthetic IV): the same interviewer always gets the same URL, and two
 * different plaintexts never share an IV. GCM's tag check is constant-time, so a forged token learns nothing.
 */

const FORMAT_1 = 0x01;
const FORMAT_2 = 0x02;
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


/** A team feed: every live interview of one job, or of the whole integration. */
export type FeedTeam = { readonly job: string } | 'all';

/** What a feed token stands for: whose (or which team's) calendar, at which detail, issued how many times. */
export interface FeedIdentity {
  readonly integrationId: string;
  /** A person's feed: their normalised email. Absent for a team feed. */
  readonly email?: string;
  /** A team feed. Absent for a person's feed. */
  readonly team?: FeedTeam;
  /** The detail level bound into the link; absent: the service's FEED_DEFAULT_DETAIL (every format 1 link). */
  readonly detail?: FeedDetail;
  /** How many times this link was revoked and issued again; absent: never (0). */
  readonly generation?: number;
}

/** Makes and reads feed tokens with keys derived from `FEED_SECRET`. */
export interface FeedTokens {
  encode(identity: FeedIdentity): string;
  /** The identity inside `token`, or undefined for anything unknown, tampered or malformed. */
  decode(token: string): FeedIdentity | undefined;
}

/** Reads format 2's plaintext; undefined when it is not what encode writes. */
function readFormat2(plaintext: string): FeedIdentity | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return undefined;
  const [integrationId, email, team, detail, generation] = parsed as unknown[];
  if (typeof integrationId !== 'string' || (email !== null && typeof email !== 'string') || (team !== null && typeof team !== 'string')) return undefined;
  if ((email === null) === (team === null)) return undefined;
  if (detail !== null && !FEED_DETAILS.includes(detail as FeedDetail)) return undefined;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) return undefined;
  let parsedTeam: FeedTeam | undefined;
  if (team === '*') parsedTeam = 'all';
  else if (typeof team === 'string' && team.startsWith('j:')) parsedTeam = { job: team.slice(2) };
  else if (team !== null) return undefined;
  return Object.freeze({
    integrationId,
    ...(email !== null ? { email } : {}),
    ...(parsedTeam !== undefined ? { team: parsedTeam } : {}),
    ...(detail !== null ? { detail: detail as FeedDetail } : {}),
    ...(generation > 0 ? { generation } : {}),
  });
}

/** Creates {@link FeedTokens} from the feed secret (at least 32 characters). */
export function createFeedTokens(secret: string): FeedTokens {
  const derive = (info: string) =>
    Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'interview-feeds', info, 32));
  const encryptionKey = derive('feed-token v1 encryption');
  const ivKey = derive('feed-token v1 synthetic iv');
  /** Format 1's IV, exactly as before format 2 existed: an HMAC of the plaintext alone (URLs handed out stay the same). */
  const ivFormat1 = (plaintext: Buffer) => createHmac('sha256', ivKey).update(plaintext).digest().subarray(0, IV_BYTES);
  const remembered = new Map<string, FeedIdentity>();

  return {
    encode(identity) {
      const { integrationId, email, team, detail, generation = 0 } = identity;
      if (integrationId.includes('\n')) throw new Error('integration id must not contain a line break');
      if ((email === undefined) === (team === undefined)) throw new Error('a feed token names a person or a team, not both');
      const format = email !== undefined && detail === undefined && generation === 0 ? FORMAT_1 : FORMAT_2;
      const text =
        format === FORMAT_1
          ? `${integrationId}\n${email}`
          : JSON.stringify([integrationId, email ?? null, team === undefined ? null : team === 'all' ? '*' : `j:${team.job}`, detail ?? null, generation]);
      const plaintext = Buffer.from(text, 'utf8');
      const associated = Buffer.from([format]);
      // Format 2's synthetic IV covers the format byte too: the same text under two formats never shares an IV.
      const iv =
        format === FORMAT_1 ? ivFormat1(plaintext) : createHmac('sha256', ivKey).update(associated).update(plaintext).digest().subarray(0, IV_BYTES);
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
      const format = bytes[0];
      if (bytes.length < 1 + IV_BYTES + 1 + TAG_BYTES || (format !== FORMAT_1 && format !== FORMAT_2)) return undefined;
      // One URL per feed: a spelling with different padding bits is not the URL we handed out.
      if (bytes.toString('base64url') !== token) return undefined;
      const iv = bytes.subarray(1, 1 + IV_BYTES);
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const body = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
      let plaintext: string;
      try {
        const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from([format]));
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
      let identity: FeedIdentity | undefined;
      if (format === FORMAT_2) identity = readFormat2(plaintext);
      else {
        const split = plaintext.indexOf('\n');
        if (split >= 0) identity = Object.freeze({ integrationId: plaintext.slice(0, split), email: plaintext.slice(split + 1) });
      }
      if (identity === undefined) return undefined;
      if (remembered.size >= MAX_REMEMBERED) remembered.clear();
      remembered.set(token, identity);
      return identity;
    },
  };
}
