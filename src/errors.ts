/**
 * An error caused by the user's input (a config, CSV, NPY or JSON file, a CLI flag).
 * The CLI prints its message as one line and exits with code 2, without a stack trace.
 * The message must name the file and the field, row or column at fault.
 */
export class UserError extends Error {
  override readonly name = 'UserError';

  /** Line breaks (e.g. in a JSON parser's excerpt of the bad text) are folded: one line, always. */
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}

/** Exit code for user errors, shared by every command (see ../shared/docs/interfaces.md). */
export const USER_ERROR_EXIT_CODE = 2;

/** Thrown when training produces a NaN or infinite loss; the runner records the cell as failed. */
export class NumericalError extends Error {
  override readonly name = 'NumericalError';
}
