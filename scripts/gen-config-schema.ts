/**
 * Writes configs/experiment.schema.json, the JSON Schema of experiment configs generated
 * from the zod types (editors use it for completion and checks). `npm run schema`;
 * a test fails when the committed file is out of date.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimentJsonSchema } from '../experiments/config.js';
import { writeFileAtomic } from '../src/io.js';

export const SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../configs/experiment.schema.json',
);

export function renderSchema(): string {
  return `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileAtomic(SCHEMA_FILE, renderSchema());
  process.stderr.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
