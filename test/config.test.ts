import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperimentConfig, parseExperimentConfig } from '../experiments/config.js';
import { expandMethodSpec } from '../experiments/runner.js';
import { renderSchema, SCHEMA_FILE } from '../scripts/gen-config-schema.js';
import { UserError } from '../src/errors.js';
import { repoRoot } from './helpers.js';

const minimal = `
experiment: t
datasets:
  - kind: simulate
    simulate: { preset: var, shops: 2 }
methods:
  - method: granger-var
`;

/** The one-line error a config gives, or undefined when it parses. */
function errorOf(yaml: string): string | undefined {
  try {
    parseExperimentConfig(yaml, 'bad.yaml');
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
}

describe('experiment config', () => {
  it('fills defaults', () => {
    const config = parseExperimentConfig(minimal, 'c.yaml');
    expect(config.seeds).toEqual([0]);
    expect(config.backend).toBe('auto');
    expect(config.horizon).toBe(0);
    expect(config.futureSpend).toBe('unknown');
    expect(config.shopContext).toBe('known');
    expect(config.splits).toEqual(['time']);
    expect(config.heldOutShops).toBe(0.2);
    expect(config.methods[0].options).toEqual({});
  });

  it('expands a seed count and an option grid', () => {
    const config = parseExperimentConfig(
      `${minimal.replace('experiment: t', 'experiment: t\nseeds: 3')}    grid: { lag: [1, 2, 3], test: [conditional, pairwise] }\n`,
      'c.yaml',
    );
    expect(config.seeds).toEqual([0, 1, 2]);
    const variants = expandMethodSpec(config.methods[0]);
    expect(variants).toHaveLength(6);
    expect(variants[0].label).toBe('granger-var(lag=1,test="conditional")');
    expect(variants[5].options.lag).toBe(3);
    expect(variants[5].options.test).toBe('pairwise');
  });

  it.each([
    ['not: [valid', /bad\.yaml:\d*:? ?not valid YAML|bad\.yaml: not valid YAML/],
    ['- 1\n- 2', /bad\.yaml: expected a YAML mapping/],
    [minimal.replace('experiment: t', 'experiment: "a b"'), /bad\.yaml: experiment: /],
    [
      minimal.replace('granger-var', 'granger-vax'),
      /bad\.yaml: methods\[0\]\.method: unknown method "granger-vax"/,
    ],
    [`${minimal}    options: { lag: 0 }\n`, /bad\.yaml: methods\[0\]\.options\.lag: /],
    [`${minimal}    options: { lagg: 2 }\n`, /bad\.yaml: methods\[0\]\.options: unknown field\(s\) "lagg"/],
    [`${minimal}    grid: { lag: [] }\n`, /bad\.yaml: methods\[0\]\.grid\.lag: /],
    [minimal.replace('kind: simulate', 'kind: parquet'), /bad\.yaml: datasets\[0\]/],
    [minimal.replace('shops: 2', 'shops: -2'), /bad\.yaml: datasets\[0\]\.simulate\.shops: /],
    [minimal.replace('shops: 2', 'seed: 2'), /bad\.yaml: datasets\[0\]\.simulate\.seed: pin the data seed/],
    [minimal.replace('experiment: t', 'experiment: t\nseeds: [-1]'), /bad\.yaml: seeds/],
    [minimal.replace('experiment: t', 'experiment: t\nbackend: gpu'), /bad\.yaml: backend: /],
    [
      minimal.replace('experiment: t', 'experiment: t\ncolour: red'),
      /bad\.yaml: \(root\): unknown field\(s\) "colour"/,
    ],
    [minimal.replace(/methods:[\s\S]*/, 'methods: []'), /bad\.yaml: methods: /],
    [minimal.replace('experiment: t', 'experiment: t\nfutureSpend: maybe'), /bad\.yaml: futureSpend: /],
    [minimal.replace('experiment: t', 'experiment: t\nsplits: [time, space]'), /bad\.yaml: splits\[1\]: /],
    [minimal.replace('experiment: t', 'experiment: t\nheldOutShops: 1'), /bad\.yaml: heldOutShops: /],
  ])('rejects a bad config with one line naming the field (%#)', (yaml, pattern) => {
    const message = errorOf(yaml);
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadExperimentConfig('/nonexistent/x.yaml')).toThrow(
      /\/nonexistent\/x\.yaml: cannot read config \(ENOENT\)/,
    );
  });

  it('loads every committed experiment config', () => {
    // fit-*.yaml are `causalmmm fit --config` files, not experiments
    const names = readdirSync(path.join(repoRoot, 'configs')).filter(
      (name) => name.endsWith('.yaml') && !name.startsWith('fit-'),
    );
    expect(names).toContain('quick.yaml');
    for (const name of names) {
      expect(() => loadExperimentConfig(path.join(repoRoot, 'configs', name)), name).not.toThrow();
    }
  });

  it('has an up-to-date JSON Schema in configs/ (run `npm run schema` after changing the types)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(renderSchema());
  });
});
