import { describe, expect, it } from 'vitest';
import { parseWalkedMessage, WALKED_MESSAGE } from '../../src/redis/create-redis-hub.js';

describe('the message that tells of a walk that changed nothing', () => {
  it('reads back version, lineage, times and the field, whatever the field holds', () => {
    expect(parseWalkedMessage(`${WALKED_MESSAGE}\n7\nab12\n1700000000000\n0\nsnap:greenhouse:acme`)).toEqual({
      field: 'snap:greenhouse:acme',
      version: 7,
      lineage: 'ab12',
      syncedAtMs: 1_700_000_000_000,
      walkedAtMs: 0,
    });
    // An integration id may hold a line break: the field is everything after the fifth line.
    expect(parseWalkedMessage(`${WALKED_MESSAGE}\n1\n\n5\n6\nsnap:odd\nid`)?.field).toBe('snap:odd\nid');
  });

  it('is nothing for a change notice, a message cut short or a number that is none', () => {
    expect(parseWalkedMessage('snap:greenhouse:acme\n7')).toBeUndefined();
    expect(parseWalkedMessage(`${WALKED_MESSAGE}\n7\nab12\n1700000000000\n0`)).toBeUndefined();
    expect(parseWalkedMessage(`${WALKED_MESSAGE}\nseven\nab12\n1\n0\nsnap:x`)).toBeUndefined();
    expect(parseWalkedMessage(`${WALKED_MESSAGE}\n7\nab12\n1e400\n0\nsnap:x`)).toBeUndefined();
  });
});
