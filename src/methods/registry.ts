import { btvc } from '../../baselines/btvc.js';
import { grangerLasso } from '../../baselines/granger-lasso.js';
import { grangerVar } from '../../baselines/granger-var.js';
import { gvar } from '../../baselines/gvar.js';
import { ingra } from '../../baselines/ingra.js';
import { lstm } from '../../baselines/lstm.js';
import { ngcClstm } from '../../baselines/ngc-clstm.js';
import { ngcCmlp } from '../../baselines/ngc-cmlp.js';
import { persistence } from '../../baselines/persistence.js';
import { seasonalNaive } from '../../baselines/seasonal-naive.js';
import { wideDeep } from '../../baselines/wide-deep.js';
import { causalmmm, nri } from '../causalmmm/method.js';
import { UserError } from '../errors.js';
import type { Method } from './method.js';

/**
 * Every method the harness knows. It sits above `baselines/` and `src/causalmmm/`: they
 * implement `Method` and never import this file. Adding a method is one line here.
 */
export const METHODS: readonly Method[] = [
  grangerVar,
  grangerLasso,
  ngcCmlp,
  ngcClstm,
  gvar,
  ingra,
  causalmmm,
  nri,
  persistence,
  seasonalNaive,
  btvc,
  lstm,
  wideDeep,
] as Method[];

export function getMethod(name: string): Method {
  const method = METHODS.find((m) => m.name === name);
  if (!method) {
    throw new UserError(`unknown method "${name}" (known: ${METHODS.map((m) => m.name).join(', ')})`);
  }
  return method;
}
