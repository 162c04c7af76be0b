import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { plainProgress, progressFor, terminalProgress } from '../src/progress.js';

describe('progress display', () => {
  it('prints timestamped lines with counts and an ETA when not on a terminal, training lines throttled', () => {
    let now = Date.parse('2026-01-01T10:00:00Z');
    const lines: string[] = [];
    const progress = plainProgress(
      (line) => lines.push(line),
      () => now,
    );
    progress.begin({ experiment: 'exp', total: 4, done: 1, workers: 2 });
    progress.cellStarted(0, 'var × granger-var seed 0');
    for (let epoch = 1; epoch <= 100; epoch++) {
      now += 1000;
      progress.training(0, 'var × granger-var seed 0', { epoch, epochs: 100, loss: 1 / epoch });
    }
    progress.cellFinished(0, 'var × granger-var seed 0', 'auroc 0.900 (100.00 s)', false);
    now += 100_000;
    progress.cellFinished(1, 'var × x seed 1', 'NumericalError: training loss is NaN at epoch 3', true);
    now += 100_000;
    progress.cellFinished(0, 'var × y seed 1', 'ok (1.00 s)', false);
    progress.end();
    expect(lines[0]).toBe('2026-01-01T10:00:00.000Z exp: 4 cells, 1 already done; 2 worker(s)');
    // 100 s of training at one report per second: a line every 30 s, not 100 lines.
    const training = lines.filter((l) => /: epoch \d/.test(l));
    expect(training).toEqual([
      '2026-01-01T10:00:30.000Z   var × granger-var seed 0: epoch 30/100 loss 0.03333',
      '2026-01-01T10:01:00.000Z   var × granger-var seed 0: epoch 60/100 loss 0.01667',
      '2026-01-01T10:01:30.000Z   var × granger-var seed 0: epoch 90/100 loss 0.01111',
    ]);
    const cells = lines.filter((l) => l.includes('] '));
    expect(cells).toEqual([
      '2026-01-01T10:01:40.000Z [2/4] var × granger-var seed 0: auroc 0.900 (100.00 s); ETA 3 min 20 s',
      '2026-01-01T10:03:20.000Z [3/4] var × x seed 1: FAILED (NumericalError: training loss is NaN at epoch 3); ETA 1 min 40 s',
      '2026-01-01T10:05:00.000Z [4/4] var × y seed 1: ok (1.00 s)',
    ]);
  });

  it('draws a live display on a terminal: cells done of total, ETA, each worker’s cell with epoch and loss', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
    let out = '';
    stream.on('data', (chunk) => {
      out += chunk;
    });
    const progress = terminalProgress(stream as unknown as NodeJS.WriteStream);
    progress.begin({ experiment: 'exp', total: 3, done: 1, workers: 2 });
    progress.cellStarted(1, 'funnel-12 × causalmmm seed 0');
    progress.training(1, 'funnel-12 × causalmmm seed 0', { epoch: 7, epochs: 50, loss: 0.125 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    progress.cellFinished(
      1,
      'funnel-12 × causalmmm seed 0',
      'NumericalError: training loss is NaN at epoch 8',
      true,
    );
    progress.end();
    const text = stripVTControlCharacters(out);
    expect(text).toMatch(/exp [█░]+ 1\/3 cells · ETA/);
    expect(text).toContain('[2] funnel-12 × causalmmm seed 0 · epoch 7/50 loss 0.1250');
    expect(text).toContain('FAILED funnel-12 × causalmmm seed 0: NumericalError');
    expect(text).toMatch(/exp [█░]+ 2\/3 cells/);
  });

  it('chooses plain lines off a terminal and under CI', () => {
    const notTty = Object.assign(new PassThrough(), { isTTY: false });
    const lines: string[] = [];
    notTty.on('data', (chunk) => lines.push(String(chunk)));
    const progress = progressFor(notTty as unknown as NodeJS.WriteStream);
    progress.note('hello');
    expect(lines.join('')).toMatch(/^\d{4}-\d\d-\d\dT.*Z hello\n$/);
  });
});
