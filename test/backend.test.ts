import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { UserError } from '../src/errors.js';

describe('tfjs backend', () => {
  it('auto picks tfjs-node when it loads, else wasm', async () => {
    let nativeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nativeInstalled = false;
    }
    expect(await initBackend('auto')).toBe(nativeInstalled ? 'tensorflow' : 'wasm');
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(await x.matMul(x).data())).toEqual([7, 10, 15, 22]);
    x.dispose();
  });

  it('switches to a named backend, and rejects one that is not installed', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    let nativeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nativeInstalled = false;
    }
    if (!nativeInstalled) await expect(initBackend('tensorflow')).rejects.toThrow(UserError);
  });
});
