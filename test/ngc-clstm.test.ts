import { describe, expect, it } from 'vitest';
import { clstmOptions, ngcClstm } from '../baselines/ngc-clstm.js';
import { Panel } from '../src/data/panel.js';
import { UserError } from '../src/errors.js';
import {
  easyVar,
  expectBadOptions,
  expectDeterministicAndTidy,
  runScored,
  smallLorenz,
  useBackend,
} from './structure-helpers.js';

useBackend();

describe('ngc-clstm', () => {
  it('recovers the graph of a 5-series VAR within its window budget', async () => {
    const { auroc, output } = await runScored(ngcClstm, easyVar, ngcClstm.testConfig);
    expect(auroc).toBeGreaterThanOrEqual(0.9);
    expect(output.info?.windows).toBeLessThanOrEqual(ngcClstm.testConfig.maxWindows!);
  });

  it('recovers a small Lorenz-96', async () => {
    const { auroc } = await runScored(ngcClstm, smallLorenz, {
      hidden: 8,
      context: 5,
      lambda: 0.05,
      lr: 0.5,
      maxIter: 60,
      checkEvery: 30,
      maxWindows: 50,
    });
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('is deterministic and keeps the tensor count flat', async () => {
    await expectDeterministicAndTidy(ngcClstm, easyVar.selectShops([0]), ngcClstm.testConfig);
  });

  it('rejects bad options by name and a context longer than the series', async () => {
    expectBadOptions(clstmOptions, [
      { hidden: 0 },
      { context: 0 },
      { maxWindows: -1 },
      { lr: 0 },
      { windows: 3 },
    ]);
    const short = new Panel({ shape: [1, 2, 6], values: new Float32Array(12).map((_, k) => Math.cos(k)) });
    await expect(
      ngcClstm.run({ panel: short, horizon: 0, seed: 0 }, clstmOptions.parse({ context: 10 })),
    ).rejects.toThrow(UserError);
  });
});
