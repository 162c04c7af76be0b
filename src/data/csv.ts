import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { readTextOrFail, writeFileAtomic } from '../io.js';
import { parseOrThrow, zodErrorLine } from '../validation.js';
import { NODE_ROLES, type NodeSpec, Panel } from './panel.js';

const nodeRoleSchema = z.enum(NODE_ROLES as [NodeSpec['role'], ...NodeSpec['role'][]]);

/**
 * The schema file beside a panel CSV (see interfaces.md). Unknown keys are errors, so that a
 * misspelt option is not silently ignored. The reading options default to the strict choice:
 * rows must already be sorted, dates must be consecutive days, and every shop must have the
 * same number of rows.
 */
export const panelSchemaSchema = z
  .strictObject({
    shop: z.string().min(1),
    time: z.string().min(1),
    context: z.array(z.string().min(1)).optional(),
    nodes: z.array(z.strictObject({ name: z.string().min(1), role: nodeRoleSchema })).min(1),
    /** false: rows out of time order within a shop are an error; true: they are sorted. */
    sortRows: z.boolean().default(false),
    /** Step between consecutive dates of a shop: 1 day, 7 days, or unchecked. */
    frequency: z.enum(['day', 'week', 'irregular']).default('day'),
    /** strict: shops with different row counts are an error; truncate: keep the last min-count steps. */
    align: z.enum(['strict', 'truncate']).default('strict'),
  })
  .superRefine((schema, ctx) => {
    const targets = schema.nodes.filter((n) => n.role === 'target').length;
    if (targets !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodes'],
        message: `exactly one node must have role "target", found ${targets}`,
      });
    }
    const used = new Map<string, string>();
    const claim = (column: string, where: (string | number)[]) => {
      const prior = used.get(column);
      if (prior !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `column "${column}" is already used by ${prior}`,
        });
      } else {
        used.set(column, where.join('.'));
      }
    };
    claim(schema.shop, ['shop']);
    claim(schema.time, ['time']);
    for (const [i, c] of (schema.context ?? []).entries()) claim(c, ['context', i]);
    for (const [i, n] of schema.nodes.entries()) claim(n.name, ['nodes', i, 'name']);
  });

/** A validated schema, with the reading options filled in. */
export type PanelSchema = z.output<typeof panelSchemaSchema>;
/** A schema as written in a file (reading options optional). */
export type PanelSchemaInput = z.input<typeof panelSchemaSchema>;

/** The ground-truth graph JSON: one edge list for all shops, or one per shop id. Edges are [cause, effect]. */
const edgeListSchema = z.array(z.tuple([z.string(), z.string()]));
const sharedGraphSchema = z.strictObject({ edges: edgeListSchema });
const perShopGraphSchema = z.strictObject({
  shops: z.record(z.string(), z.strictObject({ edges: edgeListSchema })),
});
export const graphJsonSchema = z.union([sharedGraphSchema, perShopGraphSchema]);
export type GraphJson = z.infer<typeof graphJsonSchema>;

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

/**
 * RFC-4180 records: comma-separated, optional double quotes (with `""` escapes, commas and
 * newlines inside), LF or CRLF line ends, an optional UTF-8 BOM. Blank lines are skipped.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let fieldStarted = false;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted))
      records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && !fieldStarted) {
      const quoteLine = line;
      fieldStarted = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new UserError(`${file}: line ${quoteLine}: quoted field is never closed`);
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      const next = text[i];
      if (i < text.length && next !== ',' && next !== '\n' && next !== '\r') {
        throw new UserError(`${file}: line ${line}: unexpected character after a closing quote`);
      }
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
      fieldStarted = false;
      i++;
    } else if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else if (c === '"') {
      throw new UserError(`${file}: line ${line}: a quote inside an unquoted field (quote the whole field)`);
    } else {
      field += c;
      fieldStarted = true;
      i++;
    }
  }
  if (field !== '' || fields.length > 0 || fieldStarted) endRecord();
  return records;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Days since 1970-01-01 of an ISO `yyyy-mm-dd` or `yyyymmdd` date, or an error text. */
export function parseDay(text: string): number | string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!m) return `"${text}" is not a date (expected yyyy-mm-dd or yyyymmdd)`;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (
    mo < 1 ||
    mo > 12 ||
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d
  ) {
    return `"${text}" is not a calendar date`;
  }
  return Math.round(ms / 86_400_000);
}

function isoDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `${file}: cannot read ${what} (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`,
    );
  }
  if (text.trim() === '') throw new UserError(`${file}: ${what} file is empty`);
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new UserError(`${file}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** Reads and validates a panel schema file; errors name the file and the bad field. */
export function readPanelSchema(schemaPath: string): PanelSchema {
  return parseOrThrow(panelSchemaSchema, readJson(schemaPath, 'schema'), schemaPath);
}

interface Row {
  line: number;
  day: number;
  values: number[];
  context: number[];
}

/**
 * Reads a panel CSV (one row per shop and date) with its schema file, and optionally a
 * ground-truth graph JSON, into a Panel with shops in order of first appearance. Nothing is
 * filled in: empty, non-numeric or non-finite cells, duplicate dates, out-of-order rows
 * (unless `sortRows`), gaps (per `frequency`), negative channel spend, and shops of different
 * lengths (unless `align: "truncate"`) are UserErrors naming the file, line and column.
 * Context must be constant within a shop over the rows kept after alignment (so truncation can
 * drop early rows recorded under an older context, as in the AirMMM sample).
 */
export function readPanelCsv(csvPath: string, schemaPath: string, graphPath?: string): Panel {
  const schema = readPanelSchema(schemaPath);
  const text = readTextOrFail(csvPath);
  const records = parseCsv(text, csvPath);
  if (records.length === 0) throw new UserError(`${csvPath}: file is empty (no header row)`);
  const [header, ...rows] = records;
  const at = (line: number, column: string) => `${csvPath}: line ${line}, column "${column}"`;

  const columnIndex = new Map<string, number>();
  header.fields.forEach((name, i) => {
    const key = name.trim();
    if (columnIndex.has(key))
      throw new UserError(`${at(header.line, key)}: column appears twice in the header`);
    columnIndex.set(key, i);
  });
  const need = (name: string, role: string) => {
    const i = columnIndex.get(name);
    if (i === undefined) {
      throw new UserError(
        `${at(header.line, name)}: the ${role} column named in ${schemaPath} is missing from the header`,
      );
    }
    return i;
  };
  const shopCol = need(schema.shop, 'shop');
  const timeCol = need(schema.time, 'time');
  const contextNames = schema.context ?? [];
  const contextCols = contextNames.map((c) => need(c, 'context'));
  const nodeCols = schema.nodes.map((n) => need(n.name, `${n.role} node`));
  if (rows.length === 0) throw new UserError(`${csvPath}: no data rows after the header`);

  const number = (rec: CsvRecord, col: number, name: string): number => {
    const cell = rec.fields[col].trim();
    if (cell === '') throw new UserError(`${at(rec.line, name)}: empty cell`);
    if (!NUMBER.test(cell)) throw new UserError(`${at(rec.line, name)}: "${cell}" is not a finite number`);
    const v = Number(cell);
    if (!Number.isFinite(Math.fround(v))) {
      throw new UserError(`${at(rec.line, name)}: ${cell} is beyond the float32 range`);
    }
    return v;
  };

  const shops = new Map<string, Row[]>();
  for (const rec of rows) {
    if (rec.fields.length !== header.fields.length) {
      throw new UserError(
        `${csvPath}: line ${rec.line}: ${rec.fields.length} fields, the header has ${header.fields.length}`,
      );
    }
    const shop = rec.fields[shopCol].trim();
    if (shop === '') throw new UserError(`${at(rec.line, schema.shop)}: empty shop id`);
    const timeCell = rec.fields[timeCol].trim();
    if (timeCell === '') throw new UserError(`${at(rec.line, schema.time)}: empty date`);
    const day = parseDay(timeCell);
    if (typeof day === 'string') throw new UserError(`${at(rec.line, schema.time)}: ${day}`);
    const values = schema.nodes.map((n, k) => {
      const v = number(rec, nodeCols[k], n.name);
      if (n.role === 'channel' && v < 0) {
        throw new UserError(`${at(rec.line, n.name)}: negative value ${v} in a channel column`);
      }
      return v;
    });
    const context = contextNames.map((c, k) => number(rec, contextCols[k], c));
    let list = shops.get(shop);
    if (!list) {
      list = [];
      shops.set(shop, list);
    }
    list.push({ line: rec.line, day, values, context });
  }

  const shopRows: Row[][] = [];
  for (const [shop, list] of shops) {
    const seen = new Map<number, number>();
    for (const row of list) {
      const first = seen.get(row.day);
      if (first !== undefined) {
        throw new UserError(
          `${at(row.line, schema.time)}: duplicate date ${isoDay(row.day)} for shop "${shop}" (first at line ${first})`,
        );
      }
      seen.set(row.day, row.line);
    }
    if (schema.sortRows) {
      list.sort((a, b) => a.day - b.day);
    } else {
      for (let r = 1; r < list.length; r++) {
        if (list[r].day < list[r - 1].day) {
          throw new UserError(
            `${at(list[r].line, schema.time)}: date ${isoDay(list[r].day)} of shop "${shop}" comes after ` +
              `${isoDay(list[r - 1].day)} (line ${list[r - 1].line}); rows must be sorted by time within a shop ` +
              `(or set "sortRows": true in ${schemaPath})`,
          );
        }
      }
    }
    const step = schema.frequency === 'day' ? 1 : schema.frequency === 'week' ? 7 : undefined;
    if (step !== undefined) {
      for (let r = 1; r < list.length; r++) {
        const diff = list[r].day - list[r - 1].day;
        if (diff !== step) {
          throw new UserError(
            `${at(list[r].line, schema.time)}: date ${isoDay(list[r].day)} of shop "${shop}" is ${diff} days after ` +
              `${isoDay(list[r - 1].day)} (line ${list[r - 1].line}); frequency "${schema.frequency}" needs ${step} ` +
              `(no gap is filled; set "frequency": "irregular" in ${schemaPath} to accept gaps)`,
          );
        }
      }
    }
    shopRows.push(list);
  }

  const shopIds = [...shops.keys()];
  const lengths = shopRows.map((l) => l.length);
  const T = Math.min(...lengths);
  if (schema.align === 'strict' && lengths.some((n) => n !== T)) {
    const short = lengths.indexOf(T);
    const long = lengths.findIndex((n) => n !== T);
    throw new UserError(
      `${csvPath}: shop "${shopIds[long]}" has ${lengths[long]} rows but shop "${shopIds[short]}" has ${T}; ` +
        `shops must have the same number of rows (or set "align": "truncate" in ${schemaPath} to keep the last ${T})`,
    );
  }

  const S = shopIds.length;
  const N = schema.nodes.length;
  const k = contextNames.length;
  const values = new Float32Array(S * N * T);
  const context = k > 0 ? new Float32Array(S * k) : undefined;
  shopRows.forEach((list, s) => {
    const kept = list.slice(list.length - T);
    kept.forEach((row, t) => {
      for (let n = 0; n < N; n++) values[(s * N + n) * T + t] = row.values[n];
      for (let c = 0; c < k; c++) {
        if (row.context[c] !== kept[0].context[c]) {
          throw new UserError(
            `${at(row.line, contextNames[c])}: context value ${row.context[c]} of shop "${shopIds[s]}" differs from ` +
              `${kept[0].context[c]} at line ${kept[0].line}; context must be constant within a shop`,
          );
        }
      }
    });
    if (context) for (let c = 0; c < k; c++) context[s * k + c] = kept[0].context[c];
  });

  const nodes = schema.nodes.map((n) => ({ name: n.name, role: n.role }));
  const graph = graphPath === undefined ? undefined : readGraphJson(graphPath, nodes, shopIds);
  return new Panel({
    shape: [S, N, T],
    values,
    nodes,
    shopIds,
    context,
    contextNames: context ? contextNames : undefined,
    graph,
    source: csvPath,
  });
}

/**
 * Reads a ground-truth graph JSON for the given nodes and shops: N × N when shared, S × N × N
 * (in `shopIds` order) when per shop, with `[effect * N + cause] = 1`. A per-shop file must
 * cover exactly the given shops.
 */
export function readGraphJson(
  graphPath: string,
  nodes: readonly NodeSpec[],
  shopIds: readonly string[],
): Uint8Array {
  const raw = readJson(graphPath, 'graph');
  // Validate against the branch the file means, so errors name the field rather than "invalid union".
  const perShop = typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'shops' in raw;
  const parsed = (perShop ? perShopGraphSchema : sharedGraphSchema).safeParse(raw);
  if (!parsed.success) {
    throw new UserError(
      zodErrorLine(
        `${graphPath}: expected { "edges": [[cause, effect], …] } or { "shops": { "<id>": { "edges": […] } } }`,
        parsed.error,
      ),
    );
  }
  const N = nodes.length;
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  const fill = (out: Uint8Array, edges: [string, string][], where: string) => {
    edges.forEach(([cause, effect], e) => {
      const j = index.get(cause);
      const i = index.get(effect);
      for (const [name, idx, end] of [
        [cause, j, 0],
        [effect, i, 1],
      ] as const) {
        if (idx === undefined) {
          throw new UserError(
            `${graphPath}: ${where}edges[${e}][${end}]: unknown node "${name}" (nodes: ${nodes.map((n) => n.name).join(', ')})`,
          );
        }
      }
      out[i! * N + j!] = 1;
    });
  };
  const data = parsed.data;
  if ('edges' in data) {
    const out = new Uint8Array(N * N);
    fill(out, data.edges, '');
    return out;
  }
  const known = new Set(shopIds);
  for (const id of Object.keys(data.shops)) {
    if (!known.has(id))
      throw new UserError(`${graphPath}: shops.${id}: unknown shop id "${id}" (not in the data)`);
  }
  const out = new Uint8Array(shopIds.length * N * N);
  shopIds.forEach((id, s) => {
    const entry = data.shops[id];
    if (!entry) throw new UserError(`${graphPath}: shops: no graph for shop "${id}"`);
    fill(out.subarray(s * N * N, (s + 1) * N * N), entry.edges, `shops.${id}.`);
  });
  return out;
}

/** Shortest decimal text that reads back as the same float32. */
function float32Text(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(v);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export interface WritePanelCsvOptions {
  /** ISO date of every shop's first row; default 2022-01-01. */
  startDate?: string;
  /** Spacing of the dates written; default "day". */
  frequency?: 'day' | 'week';
  /** Also write the panel's true graph as graph JSON here (shared or per shop). */
  graphPath?: string;
}

/**
 * Writes `panel` as a panel CSV and its schema (columns `shop_id`, `ds`, context, nodes), each
 * atomically (temp file + rename). Dates are synthetic, starting at `startDate`, since a Panel
 * keeps no calendar; values are written as the shortest text that reads back as the same
 * float32, so `readPanelCsv` reproduces the panel exactly. Contributions are not written.
 */
export function writePanelCsv(
  panel: Panel,
  csvPath: string,
  schemaPath: string,
  options: WritePanelCsvOptions = {},
): void {
  const start = parseDay(options.startDate ?? '2022-01-01');
  if (typeof start === 'string') throw new UserError(`writePanelCsv: startDate ${start}`);
  const frequency = options.frequency ?? 'day';
  const step = frequency === 'week' ? 7 : 1;
  const taken = new Set([...panel.nodes.map((n) => n.name), ...(panel.context ? panel.contextNames : [])]);
  const free = (name: string) => {
    while (taken.has(name)) name = `_${name}`;
    taken.add(name);
    return name;
  };
  const shopCol = free('shop_id');
  const timeCol = free('ds');
  const contextNames = panel.context ? [...panel.contextNames] : [];
  const schema: PanelSchemaInput = {
    shop: shopCol,
    time: timeCol,
    ...(contextNames.length > 0 ? { context: contextNames } : {}),
    nodes: panel.nodes.map((n) => ({ name: n.name, role: n.role })),
    sortRows: false,
    frequency,
    align: 'strict',
  };
  const lines = [
    [shopCol, timeCol, ...contextNames, ...panel.nodes.map((n) => n.name)].map(csvField).join(','),
  ];
  const N = panel.nodeCount;
  const T = panel.steps;
  for (let s = 0; s < panel.shops; s++) {
    const shop = csvField(panel.shopIds[s]);
    const ctx = Array.from(panel.shopContext(s) ?? [], float32Text);
    for (let t = 0; t < T; t++) {
      const cells = [shop, isoDay(start + t * step), ...ctx];
      for (let n = 0; n < N; n++) cells.push(float32Text(panel.values[(s * N + n) * T + t]));
      lines.push(cells.join(','));
    }
  }
  writeFileAtomic(schemaPath, `${JSON.stringify(schema, null, 2)}\n`);
  writeFileAtomic(csvPath, `${lines.join('\n')}\n`);
  if (options.graphPath && panel.graph) {
    const edgesOf = (g: Uint8Array): [string, string][] => {
      const edges: [string, string][] = [];
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) if (g[i * N + j]) edges.push([panel.nodes[j].name, panel.nodes[i].name]);
      }
      return edges;
    };
    const json: GraphJson = panel.graphShared
      ? { edges: edgesOf(panel.graph) }
      : {
          shops: Object.fromEntries(
            panel.shopIds.map((id, s) => [id, { edges: edgesOf(panel.trueGraph(s)!) }]),
          ),
        };
    writeFileAtomic(options.graphPath, `${JSON.stringify(json, null, 2)}\n`);
  }
}
