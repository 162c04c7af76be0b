import type { z } from 'zod';
import { UserError } from './errors.js';

/** `methods[0].options.lag` from a zod issue path. */
function formatIssuePath(issuePath: readonly PropertyKey[]): string {
  return issuePath.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** zod's messages, reworded where its default does not say what to fix. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}

const SHOWN_ISSUES = 3;

/**
 * One line naming the source (a file, or a CLI command), each field at fault and what is
 * wrong: `bad.yaml: methods[0].options.lag: Too small: expected number to be >=1`.
 */
export function zodErrorLine(source: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, SHOWN_ISSUES).map((issue) => {
    const where = formatIssuePath(issue.path) || '(root)';
    return `${where}: ${issueMessage(issue)}`;
  });
  const more = error.issues.length - SHOWN_ISSUES;
  return `${source}: ${parts.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`.replaceAll('\n', ' ');
}

/** Validates `input` against `schema`; a failure is a UserError naming `source` and the fields. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new UserError(zodErrorLine(source, parsed.error));
  return parsed.data;
}
