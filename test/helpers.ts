/** Shared test scaffolding: where the repo and ../shared are, temp folders, user-error checks. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { UserError } from '../src/errors.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The workplace's shared data, beside the checkout; tests that need it skip where it is absent. */
export const shared = path.resolve(repoRoot, '../shared');

/**
 * Returns a maker of temp folders that the calling test file removes after its tests
 * (call it at the top level of the file, where `afterAll` registers).
 */
export function useTempDirs(): (prefix: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** Asserts that `fn` throws a UserError whose message contains every one of `parts`. */
export function expectUserError(fn: () => unknown, ...parts: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  for (const part of parts) expect((caught as Error).message).toContain(part);
}
