import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/storage/write-file-atomic.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'write-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a missing folder, replaces what was there, and leaves no temporary file, readable by the owner only', async () => {
    const path = join(dir, 'a', 'b', 'state.json');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, Buffer.from('second'));
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['state.json']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('makes the folder again when it was removed after a first save', async () => {
    const path = join(dir, 'data', 'state.json');
    await writeFileAtomic(path, 'first');
    await rm(join(dir, 'data'), { recursive: true });
    await writeFileAtomic(path, 'again');
    expect(await readFile(path, 'utf8')).toBe('again');
  });

  it('fails with the cause when the path cannot be written, and leaves no temporary file', async () => {
    const blocker = join(dir, 'file');
    await writeFileAtomic(blocker, 'a file, not a folder');
    await expect(writeFileAtomic(join(blocker, 'state.json'), 'x')).rejects.toMatchObject({ code: expect.stringMatching(/ENOTDIR|EEXIST/) });
    expect(await readdir(dir)).toEqual(['file']);
  });
});
