import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.js';

/**
 * Writes a file so that readers see either the old content or the whole new one, never a
 * truncated file: the data goes to a temporary sibling first, is flushed to disk (so a crash
 * of the machine cannot leave an empty file behind the rename), and is renamed into place.
 */
export function writeFileAtomic(file: string, contents: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(tmp, contents);
    // fsync through a second descriptor flushes the same file: its data reach the disk before the rename.
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes a directory so that readers see either the old one or the whole new one: `write`
 * fills a temporary sibling, which is renamed into place only once complete; an existing `dir`
 * is replaced only then (and restored if the rename fails), so a failure never leaves a
 * half-written or half-replaced directory. A `dir` that exists and is not a directory is a
 * UserError, not replaced.
 */
export function writeDirAtomic(dir: string, write: (tmp: string) => void): void {
  const target = path.resolve(dir);
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) {
    throw new UserError(`${dir}: exists and is not a directory; refusing to replace it`);
  }
  const parent = path.dirname(target);
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${tag}`);
  const backup = path.join(parent, `.${path.basename(target)}.old-${tag}`);
  try {
    mkdirSync(tmp);
    write(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (!existing) {
    renameSync(tmp, target);
    return;
  }
  renameSync(target, backup);
  try {
    renameSync(tmp, target);
  } catch (err) {
    renameSync(backup, target);
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  rmSync(backup, { recursive: true, force: true });
}

/**
 * Reads a whole file; a failure is one UserError naming it: `cannot read (no such file)`, with
 * `missingHint` appended for a missing file, or the system's reason.
 */
export function readFileOrFail(file: string, missingHint = ''): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? `no such file${missingHint}` : (err as Error).message;
    throw new UserError(`${file}: cannot read (${reason})`);
  }
}

/** {@link readFileOrFail} as UTF-8 text. */
export function readTextOrFail(file: string, missingHint = ''): string {
  return readFileOrFail(file, missingHint).toString('utf8');
}
