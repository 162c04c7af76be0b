import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from './errors.js';
import { useFastWasmKernels } from './wasm-kernels.js';

/** Backend preference: `auto` picks the fastest one that loads on this machine. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);

/**
 * `@tensorflow/tfjs-node` is an optional dependency: its install downloads libtensorflow,
 * which fails where that host is unreachable, and npm then leaves the package out.
 * Importing it registers the native `tensorflow` backend.
 */
async function loadNative(): Promise<boolean> {
  // libtensorflow writes notices to stderr as it loads (oneDNN's, then one per new CPU feature),
  // which would sit above the CLI's one-line errors. Both variables are read at load time, so
  // they work from here; TF_ENABLE_ONEDNN_OPTS=1 set by the user trades the notice for ~20 %
  // more training speed (README, "Backends").
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
  try {
    await import('@tensorflow/tfjs-node' as string);
    return tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

async function loadWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from the package's dist folder, not fetched.
    const dist = path.join(
      path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    wasm.setWasmPaths(`${dist}${path.sep}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Initialises tfjs once per process and returns the name of the backend in use
 * (`tensorflow`, `wasm` or `cpu`). `auto` tries tfjs-node, then wasm, then cpu; a named
 * backend that cannot load is a user error.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<string> {
  const order: Exclude<BackendChoice, 'auto'>[] =
    choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    if (tf.getBackend() === name && tf.engine().backend) return name;
    const registered = name === 'tensorflow' ? await loadNative() : name === 'wasm' ? await loadWasm() : true;
    if (registered && (await tf.setBackend(name).catch(() => false))) {
      await tf.ready();
      if (name === 'wasm') useFastWasmKernels(true);
      return tf.getBackend();
    }
  }
  if (choice === 'tensorflow') {
    throw new UserError(
      'backend "tensorflow": @tensorflow/tfjs-node is not installed or failed to load (use --backend auto, wasm or cpu)',
    );
  }
  throw new UserError(`backend "${choice}" could not be initialised`);
}

/** The active backend's name, or `none` before `initBackend` ran. */
export function currentBackend(): string {
  try {
    return tf.getBackend() ?? 'none';
  } catch {
    return 'none';
  }
}
