import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMethod, keyBaseOptions, keyOptions } from '../src/methods/method.js';
import { METHODS } from '../src/methods/registry.js';

/**
 * The option values every method's cell keys are relative to, as committed. A finished cell's
 * key leaves out the options equal to these, so if a default changed here without the method
 * recording its old value in `keyDefaults`, a resumed run would take cells computed under the
 * old default for cells of the new one.
 */
const committed = JSON.parse(
  readFileSync(new URL('./method-key-defaults.json', import.meta.url), 'utf8'),
) as Record<string, Record<string, unknown> | null>;

describe('cell keys and changed defaults', () => {
  it.each(METHODS.map((m) => [m.name, m] as const))(
    '%s: its key defaults are the committed ones',
    (name, method) => {
      const base = keyBaseOptions(method) ?? null;
      expect(
        name in committed,
        `add "${name}": ${JSON.stringify(base)} to test/method-key-defaults.json`,
      ).toBe(true);
      const was = committed[name];
      if (was === null || base === null) {
        expect(base).toEqual(was);
        return;
      }
      for (const [option, value] of Object.entries(was)) {
        expect(option in base, `${name}.${option} is gone: remove it from the fixture`).toBe(true);
        expect(
          base[option],
          `${name}.${option}: its default changed from ${JSON.stringify(value)}; add keyDefaults: { ${option}: ${JSON.stringify(value)} } to the method so finished cells keep their keys`,
        ).toEqual(value);
      }
      for (const option of Object.keys(base)) {
        expect(
          option in was,
          `${name}.${option} is new: add "${option}": ${JSON.stringify(base[option])} (its default) to the fixture`,
        ).toBe(true);
      }
    },
  );

  const toy = defineMethod({
    name: 'toy',
    title: 'Toy',
    paper: '-',
    produces: ['graph'],
    options: z.strictObject({ mode: z.enum(['old', 'new']).default('new'), size: z.int().default(3) }),
    testConfig: {},
    keyDefaults: { mode: 'old' },
    run: async () => ({}),
  });

  it('a changed default keys its new value and leaves the old one out', () => {
    expect(keyOptions(toy, { mode: 'new', size: 3 })).toEqual({ mode: 'new' });
    expect(keyOptions(toy, { mode: 'old', size: 3 })).toEqual({});
    expect(keyOptions(toy, { mode: 'old', size: 4 })).toEqual({ size: 4 });
  });
});
