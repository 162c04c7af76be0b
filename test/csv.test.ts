import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type PanelSchemaInput,
  panelSchemaSchema,
  parseCsv,
  parseDay,
  readPanelCsv,
  readPanelSchema,
  writePanelCsv,
} from '../src/data/csv.js';
import { Panel } from '../src/data/panel.js';
import { expectUserError, repoRoot, shared, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const airmmmCsv = path.join(shared, 'datasets/causalmmm-release/AirMMM_10s.csv');
const airmmmSchema = path.join(repoRoot, 'configs/schemas/airmmm.schema.json');

const BASE_SCHEMA: PanelSchemaInput = {
  shop: 'shop',
  time: 'date',
  context: ['size'],
  nodes: [
    { name: 'tv', role: 'channel' },
    { name: 'pv', role: 'kpi' },
    { name: 'gmv', role: 'target' },
  ],
};

const HEADER = 'shop,date,size,tv,pv,gmv';

/** Writes a CSV (lines joined by `eol`) and a schema into a fresh temp dir. */
function fixture(lines: string[], schema: object = BASE_SCHEMA, eol = '\n') {
  const dir = tempDir('causalmmm-csv-');
  const csv = path.join(dir, 'panel.csv');
  const schemaPath = path.join(dir, 'schema.json');
  writeFileSync(csv, lines.join(eol) + eol);
  writeFileSync(schemaPath, JSON.stringify(schema));
  return { dir, csv, schema: schemaPath };
}

const GOOD = [
  HEADER,
  'b,2022-01-01,10,1,2,3',
  'b,2022-01-02,10,4,5,6',
  'b,2022-01-03,10,7,8,9',
  'a,20220101,20,0.5,-1,1e3',
  'a,20220102,20,0,0,0',
  'a,20220103,20,2.25,3,4',
];

describe('readPanelCsv', () => {
  it('reads a valid panel: shop order of first appearance, values, context', () => {
    const f = fixture(GOOD);
    const panel = readPanelCsv(f.csv, f.schema);
    expect(panel.source).toBe(f.csv);
    expect([panel.shops, panel.nodeCount, panel.steps]).toEqual([2, 3, 3]);
    expect(panel.shopIds).toEqual(['b', 'a']);
    expect(panel.nodes.map((n) => n.name)).toEqual(['tv', 'pv', 'gmv']);
    expect(panel.targetIndex).toBe(2);
    expect(Array.from(panel.series(0, 0))).toEqual([1, 4, 7]);
    expect(Array.from(panel.series(0, 2))).toEqual([3, 6, 9]);
    expect(Array.from(panel.series(1, 1))).toEqual([-1, 0, 3]);
    expect(Array.from(panel.series(1, 2))).toEqual([1000, 0, 4]);
    expect(Array.from(panel.context!)).toEqual([10, 20]);
    expect(panel.contextNames).toEqual(['size']);
    expect(panel.graph).toBeUndefined();
  });

  it('handles a BOM, CRLF, quoted fields, extra columns and column order', () => {
    const lines = [
      '\ufeffgmv,"note",tv,pv,date,shop,size',
      '3,"hello, ""world""",1,2,2022-03-01,"shop, one",5',
      '6,"multi',
      'line",4,5,2022-03-02,"shop, one",5',
    ];
    const f = fixture(lines, BASE_SCHEMA, '\r\n');
    const panel = readPanelCsv(f.csv, f.schema);
    expect(panel.shopIds).toEqual(['shop, one']);
    expect(Array.from(panel.values)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('reads a schema without context', () => {
    const { context: _omit, ...schema } = BASE_SCHEMA;
    const f = fixture(GOOD, schema);
    const panel = readPanelCsv(f.csv, f.schema);
    expect(panel.context).toBeUndefined();
    expect(panel.contextSize).toBe(0);
  });

  it('unsorted rows are an error by default and sorted with sortRows', () => {
    const lines = [HEADER, 'a,2022-01-02,1,4,5,6', 'a,2022-01-01,1,1,2,3', 'a,2022-01-03,1,7,8,9'];
    const f = fixture(lines);
    expectUserError(
      () => readPanelCsv(f.csv, f.schema),
      f.csv,
      'line 3',
      'column "date"',
      'sorted',
      'sortRows',
    );
    const g = fixture(lines, { ...BASE_SCHEMA, sortRows: true });
    expect(Array.from(readPanelCsv(g.csv, g.schema).series(0, 0))).toEqual([1, 4, 7]);
  });

  it('gaps are errors for daily and weekly data, accepted when irregular', () => {
    const lines = [HEADER, 'a,2022-01-01,1,1,2,3', 'a,2022-01-02,1,4,5,6', 'a,2022-01-05,1,7,8,9'];
    const f = fixture(lines);
    expectUserError(
      () => readPanelCsv(f.csv, f.schema),
      f.csv,
      'line 4',
      'column "date"',
      '3 days',
      'frequency "day"',
    );
    const g = fixture(lines, { ...BASE_SCHEMA, frequency: 'irregular' });
    expect(readPanelCsv(g.csv, g.schema).steps).toBe(3);
    const weekly = [HEADER, 'a,2022-01-03,1,1,2,3', 'a,2022-01-10,1,4,5,6', 'a,2022-01-17,1,7,8,9'];
    const w = fixture(weekly, { ...BASE_SCHEMA, frequency: 'week' });
    expect(readPanelCsv(w.csv, w.schema).steps).toBe(3);
    const wd = fixture(weekly);
    expectUserError(() => readPanelCsv(wd.csv, wd.schema), 'line 3', '7 days');
    const wg = fixture(lines, { ...BASE_SCHEMA, frequency: 'week' });
    expectUserError(() => readPanelCsv(wg.csv, wg.schema), 'line 3', '1 days', 'frequency "week"');
  });

  it('shops of different lengths: strict error, truncate keeps the last steps', () => {
    const lines = [...GOOD, 'b,2022-01-04,10,10,11,12'];
    const f = fixture(lines);
    expectUserError(
      () => readPanelCsv(f.csv, f.schema),
      f.csv,
      'shop "b" has 4 rows',
      'shop "a" has 3',
      'truncate',
    );
    const g = fixture(lines, { ...BASE_SCHEMA, align: 'truncate' });
    const panel = readPanelCsv(g.csv, g.schema);
    expect(panel.steps).toBe(3);
    expect(Array.from(panel.series(0, 0))).toEqual([4, 7, 10]);
    expect(Array.from(panel.series(1, 0))).toEqual([0.5, 0, 2.25]);
  });

  it('reads a ground-truth graph shared by all shops', () => {
    const f = fixture(GOOD);
    const graph = path.join(f.dir, 'graph.json');
    writeFileSync(
      graph,
      JSON.stringify({
        edges: [
          ['tv', 'pv'],
          ['pv', 'gmv'],
          ['tv', 'gmv'],
        ],
      }),
    );
    const panel = readPanelCsv(f.csv, f.schema, graph);
    expect(panel.graphShared).toBe(true);
    // A[effect][cause]: row pv (1) col tv (0); row gmv (2) cols tv, pv.
    expect(Array.from(panel.graph!)).toEqual([0, 0, 0, 1, 0, 0, 1, 1, 0]);
  });

  it('reads per-shop graphs in the order of the CSV shops', () => {
    const f = fixture(GOOD);
    const graph = path.join(f.dir, 'graph.json');
    writeFileSync(
      graph,
      JSON.stringify({ shops: { a: { edges: [['tv', 'gmv']] }, b: { edges: [['pv', 'gmv']] } } }),
    );
    const panel = readPanelCsv(f.csv, f.schema, graph);
    expect(panel.graphShared).toBe(false);
    expect(Array.from(panel.trueGraph(0)!)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0]); // b: pv → gmv
    expect(Array.from(panel.trueGraph(1)!)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0]); // a: tv → gmv
  });

  it('graph JSON errors name the file and the field', () => {
    const f = fixture(GOOD);
    const graph = path.join(f.dir, 'graph.json');
    const check = (json: unknown, ...parts: string[]) => {
      writeFileSync(graph, typeof json === 'string' ? json : JSON.stringify(json));
      expectUserError(() => readPanelCsv(f.csv, f.schema, graph), graph, ...parts);
    };
    check({ edges: [['tv', 'sales']] }, 'edges[0][1]', 'unknown node "sales"');
    check({ edges: [['radio', 'gmv']] }, 'edges[0][0]', 'unknown node "radio"');
    check({ shops: { a: { edges: [] } } }, 'no graph for shop "b"');
    check(
      { shops: { a: { edges: [] }, b: { edges: [] }, c: { edges: [] } } },
      'shops.c',
      'unknown shop id "c"',
    );
    check({ shops: { a: { edges: [] }, b: { edges: [['tv', 'nope']] } } }, 'shops.b.edges[0][1]', '"nope"');
    check({ edges: [['tv']] }, 'edges[0]');
    check('{"edges": [', 'not valid JSON');
    check('', 'empty');
  });
});

describe('readPanelCsv errors name the file, line and column', () => {
  const bad = (row: string, ...parts: string[]) => {
    const f = fixture([HEADER, 'a,2022-01-01,1,1,2,3', row]);
    expectUserError(() => readPanelCsv(f.csv, f.schema), f.csv, ...parts);
  };
  it('missing column in the header', () => {
    const f = fixture(['shop,date,size,tv,gmv', 'a,2022-01-01,1,1,3']);
    expectUserError(() => readPanelCsv(f.csv, f.schema), f.csv, 'line 1', 'column "pv"', 'missing');
  });
  it('duplicate header column', () => {
    const f = fixture(['shop,date,size,tv,pv,gmv,tv', 'a,2022-01-01,1,1,2,3,4']);
    expectUserError(() => readPanelCsv(f.csv, f.schema), 'line 1', 'column "tv"', 'twice');
  });
  it('non-numeric cell', () =>
    bad('a,2022-01-02,1,abc,2,3', 'line 3', 'column "tv"', '"abc" is not a finite number'));
  it('empty cell', () => bad('a,2022-01-02,1,1,,3', 'line 3', 'column "pv"', 'empty cell'));
  it('NaN cell', () => bad('a,2022-01-02,1,1,2,NaN', 'line 3', 'column "gmv"', '"NaN"'));
  it('infinite cell', () => bad('a,2022-01-02,1,1,2,Infinity', 'line 3', 'column "gmv"'));
  it('value beyond float32', () => bad('a,2022-01-02,1,1,2,1e39', 'line 3', 'column "gmv"', 'float32'));
  it('non-numeric context', () => bad('a,2022-01-02,big,1,2,3', 'line 3', 'column "size"'));
  it('duplicate (shop, date)', () =>
    bad('a,20220101,1,1,2,3', 'line 3', 'column "date"', 'duplicate date 2022-01-01', 'line 2'));
  it('bad dates', () => {
    bad('a,2022-02-30,1,1,2,3', 'line 3', 'column "date"', 'not a calendar date');
    bad('a,20221301,1,1,2,3', 'line 3', 'column "date"', 'not a calendar date');
    bad('a,01/02/2022,1,1,2,3', 'line 3', 'column "date"', 'not a date');
    bad('a,,1,1,2,3', 'line 3', 'column "date"', 'empty date');
  });
  it('negative channel value (negative kpi is fine)', () =>
    bad('a,2022-01-02,1,-0.5,2,3', 'line 3', 'column "tv"', 'negative'));
  it('context varying within a shop', () =>
    bad('a,2022-01-02,2,1,2,3', 'line 3', 'column "size"', 'constant'));
  it('wrong number of fields', () => bad('a,2022-01-02,1,1,2', 'line 3', '5 fields', 'header has 6'));
  it('empty shop id', () => bad(',2022-01-02,1,1,2,3', 'line 3', 'column "shop"'));
  it('unterminated quote', () => bad('a,"2022-01-02,1,1,2,3', 'line 3', 'never closed'));
  it('empty file and header without rows', () => {
    const f = fixture([]);
    writeFileSync(f.csv, '');
    expectUserError(() => readPanelCsv(f.csv, f.schema), f.csv, 'empty');
    writeFileSync(f.csv, '\ufeff\r\n');
    expectUserError(() => readPanelCsv(f.csv, f.schema), f.csv, 'empty');
    writeFileSync(f.csv, `${HEADER}\n`);
    expectUserError(() => readPanelCsv(f.csv, f.schema), f.csv, 'no data rows');
  });
  it('missing CSV file', () => {
    const f = fixture(GOOD);
    const missing = path.join(f.dir, 'missing.csv');
    expectUserError(() => readPanelCsv(missing, f.schema), missing, 'no such file');
  });
});

describe('panel schema', () => {
  const schemaError = (schema: unknown, ...parts: string[]) => {
    const f = fixture(GOOD, schema as object);
    expectUserError(() => readPanelSchema(f.schema), f.schema, ...parts);
    expectUserError(() => readPanelCsv(f.csv, f.schema), f.schema, ...parts);
  };
  it('fills strict defaults', () => {
    const parsed = panelSchemaSchema.parse(BASE_SCHEMA);
    expect(parsed.sortRows).toBe(false);
    expect(parsed.frequency).toBe('day');
    expect(parsed.align).toBe('strict');
  });
  it('rejects bad schemas naming the field', () => {
    schemaError({ ...BASE_SCHEMA, nodes: [{ name: 'tv', role: 'channel' }] }, 'nodes', 'exactly one node');
    schemaError(
      {
        ...BASE_SCHEMA,
        nodes: [
          { name: 'gmv', role: 'target' },
          { name: 'tv', role: 'spend' },
        ],
      },
      'nodes[1].role',
    );
    schemaError({ ...BASE_SCHEMA, frequency: 'monthly' }, 'frequency');
    schemaError({ ...BASE_SCHEMA, sortrows: true }, 'sortrows');
    schemaError({ ...BASE_SCHEMA, time: 'tv' }, 'nodes[0].name', 'column "tv" is already used by time');
    const { shop: _omit, ...noShop } = BASE_SCHEMA;
    schemaError(noShop, 'shop');
  });
  it('rejects invalid or empty JSON', () => {
    const f = fixture(GOOD);
    writeFileSync(f.schema, '{ "shop": ');
    expectUserError(() => readPanelSchema(f.schema), f.schema, 'not valid JSON');
    writeFileSync(f.schema, '  ');
    expectUserError(() => readPanelSchema(f.schema), f.schema, 'empty');
  });
});

describe('parseCsv and parseDay', () => {
  it('reports the starting line of every record', () => {
    const records = parseCsv('a,b\r\n\r\n"x\ny",2\n3,"q""q"', 'mem.csv');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, fields: ['x\ny', '2'] },
      { line: 5, fields: ['3', 'q"q'] },
    ]);
  });
  it('keeps empty fields', () => {
    expect(parseCsv(',,\n""\n', 'm.csv').map((r) => r.fields)).toEqual([['', '', ''], ['']]);
  });
  it('rejects stray quotes', () => {
    expectUserError(() => parseCsv('a,b"c\n', 'm.csv'), 'm.csv', 'line 1', 'quote');
    expectUserError(() => parseCsv('a\n"b"c\n', 'm.csv'), 'm.csv', 'line 2', 'closing quote');
  });
  it('validates calendar dates in both formats', () => {
    expect(parseDay('1970-01-02')).toBe(1);
    expect(parseDay('20240229')).toBe(parseDay('2024-02-29'));
    expect(typeof parseDay('2024-02-29')).toBe('number');
    expect(parseDay('20230229')).toMatch(/calendar/);
    expect(parseDay('2023-00-10')).toMatch(/calendar/);
    expect(parseDay('2023-1-10')).toMatch(/not a date/);
  });
});

describe('writePanelCsv', () => {
  it('round-trips values exactly, with shop ids, context and a per-shop graph', () => {
    const values = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) =>
      Math.fround(Math.abs(Math.sin(i + 1)) * 10 ** (i % 7)),
    );
    const panel = new Panel({
      shape: [2, 3, 5],
      values,
      nodes: [
        { name: 'tv', role: 'channel' },
        { name: 'pv', role: 'kpi' },
        { name: 'gmv', role: 'target' },
      ],
      shopIds: ['shop "1", east', '22'],
      context: new Float32Array([0.1, 7, 1 / 3, -2]),
      contextNames: ['c0', 'c1'],
      graph: new Uint8Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]),
    });
    const dir = tempDir('causalmmm-csvw-');
    const csv = path.join(dir, 'p.csv');
    const schema = path.join(dir, 'p.schema.json');
    const graph = path.join(dir, 'p.graph.json');
    writePanelCsv(panel, csv, schema, { graphPath: graph, startDate: '2023-12-30' });
    expect(readdirSync(dir).sort()).toEqual(['p.csv', 'p.graph.json', 'p.schema.json']);
    const text = readFileSync(csv, 'utf8');
    expect(text.split('\n')[0]).toBe('shop_id,ds,c0,c1,tv,pv,gmv');
    expect(text.split('\n')[1]).toMatch(/^"shop ""1"", east",2023-12-30,0\.1,7,/);
    expect(text.split('\n')[3]).toContain(',2024-01-01,');
    const back = readPanelCsv(csv, schema, graph);
    expect(back.shopIds).toEqual(panel.shopIds);
    expect(Array.from(back.values)).toEqual(Array.from(values));
    expect(Array.from(back.context!)).toEqual(Array.from(panel.context!));
    expect(back.contextNames).toEqual(['c0', 'c1']);
    expect(Array.from(back.graph!)).toEqual(Array.from(panel.graph!));
    expect(back.graphShared).toBe(false);
  });

  it('writes weekly dates and avoids column-name clashes', () => {
    const panel = new Panel({
      shape: [1, 2, 3],
      values: new Float32Array([1, 2, 3, 4, 5, 6]),
      nodes: [
        { name: 'ds', role: 'channel' },
        { name: 'shop_id', role: 'target' },
      ],
    });
    const dir = tempDir('causalmmm-csvw-');
    const csv = path.join(dir, 'p.csv');
    const schema = path.join(dir, 'p.json');
    writePanelCsv(panel, csv, schema, { frequency: 'week' });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('_shop_id,_ds,ds,shop_id');
    expect(lines.map((l) => l.split(',')[1]).slice(1)).toEqual(['2022-01-01', '2022-01-08', '2022-01-15']);
    expect(Array.from(readPanelCsv(csv, schema).values)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe.skipIf(!existsSync(shared))('the real AirMMM sample', () => {
  it('loads with configs/schemas/airmmm.schema.json', () => {
    const panel = readPanelCsv(airmmmCsv, airmmmSchema);
    expect(panel.shops).toBe(2);
    expect(panel.nodeCount).toBe(13);
    expect(panel.steps).toBe(4);
    expect(panel.contextSize).toBe(5);
    expect(panel.shopIds).toEqual(['434', '68']);
    expect(panel.channelIndices).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(panel.nodes[11]).toEqual({ name: 'pv', role: 'kpi' });
    const gmv = panel.targetIndex;
    expect(gmv).toBe(12);
    // Shop 434 keeps its last 4 dates (2022-12-02, 04, 05, 06); shop 68 is sorted into April order.
    const f = (xs: number[]) => xs.map(Math.fround);
    expect(Array.from(panel.series(0, gmv))).toEqual(f([1734500.97, 2044441.53, 3856010.03, 2818218.17]));
    expect(Array.from(panel.series(1, gmv))).toEqual(f([882950.05, 1395002.5, 1104952.77, 826692.66]));
    expect(Array.from(panel.series(1, 11))).toEqual([585650, 910953, 781513, 634133]);
    expect(Array.from(panel.shopContext(0)!)).toEqual(
      f([1.801580084, 0.842981641, 1, 4.838651237, 18721508]),
    );
    expect(Array.from(panel.shopContext(1)!)).toEqual(f([1.84598991, 0.905724362, 2, 4.75317255, 7167799]));
  });

  it('fails under the strict defaults, naming the first unsorted row', () => {
    const dir = tempDir('causalmmm-air-');
    const strict = path.join(dir, 'strict.json');
    const {
      sortRows: _s,
      frequency: _f,
      align: _a,
      ...rest
    } = JSON.parse(readFileSync(airmmmSchema, 'utf8'));
    writeFileSync(strict, JSON.stringify(rest));
    expectUserError(() => readPanelCsv(airmmmCsv, strict), airmmmCsv, 'line 4', 'column "ds"', 'sorted');
  });
});
