/**
 * What `causalmmm fit` writes per shop — graph JSON, Graphviz DOT and a heatmap SVG, the
 * forecast (JSON and CSV), contributions with ROI, response curves (JSON and SVG) — and the
 * `index.html` that summarises every shop. Pure functions from results to file contents.
 */
import type { NodeSpec } from '../data/panel.js';
import type { ResponseCurve, ShopContributions } from './analyse.js';

const round = (v: number, digits = 6) => Number(v.toPrecision(digits));

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A shop id as a folder name: safe characters kept, anything else percent-encoded. */
export function shopFolder(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return safe === '.' || safe === '..' || safe === '' ? `%${safe}` : safe;
}

export interface GraphFile {
  shop: string;
  nodes: NodeSpec[];
  /** `probabilities[i][j]` = P(j → i): row = effect, column = cause. */
  probabilities: number[][];
  threshold: number;
  /** Edges with probability ≥ threshold, strongest first. */
  edges: { cause: string; effect: string; probability: number }[];
}

export function graphFile(
  shop: string,
  nodes: readonly NodeSpec[],
  probs: Float64Array,
  threshold: number,
): GraphFile {
  const N = nodes.length;
  const edges: GraphFile['edges'] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const p = probs[i * N + j];
      if (i !== j && p >= threshold)
        edges.push({ cause: nodes[j].name, effect: nodes[i].name, probability: round(p, 4) });
    }
  }
  edges.sort((a, b) => b.probability - a.probability);
  return {
    shop,
    nodes: nodes.map((n) => ({ name: n.name, role: n.role })),
    probabilities: Array.from({ length: N }, (_, i) =>
      Array.from(probs.subarray(i * N, (i + 1) * N), (p) => round(p, 4)),
    ),
    threshold,
    edges,
  };
}

const dotId = (name: string) => `"${name.replace(/(["\\])/g, '\\$1')}"`;

/** Graphviz DOT of the edges above the threshold; width and label carry the probability. */
export function graphDot(graph: GraphFile): string {
  const shapes = { channel: 'box', kpi: 'ellipse', target: 'doubleoctagon' };
  const lines = [`digraph ${dotId(`shop ${graph.shop}`)} {`, '  rankdir=LR;'];
  for (const n of graph.nodes) lines.push(`  ${dotId(n.name)} [shape=${shapes[n.role]}];`);
  for (const e of graph.edges) {
    lines.push(
      `  ${dotId(e.cause)} -> ${dotId(e.effect)} [label="${e.probability.toFixed(2)}", penwidth=${(0.5 + 3 * e.probability).toFixed(2)}];`,
    );
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** White (0) to dark blue (1). */
function shade(p: number): string {
  const t = Math.min(Math.max(p, 0), 1);
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 8)},${mix(255, 48)},${mix(255, 107)})`;
}

/** Heatmap of P(cause → effect): rows are effects, columns causes, as in the graph matrices. */
export function heatmapSvg(graph: GraphFile): string {
  const N = graph.nodes.length;
  const cell = 26;
  const label = 10 + 7 * Math.max(...graph.nodes.map((n) => n.name.length));
  const size = label + N * cell;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size + 10}" height="${size + 30}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeHtml(`shop ${graph.shop}: P(column → row)`)}</title>`,
    `<text x="${label}" y="12">cause →</text>`,
  ];
  const top = 20;
  graph.nodes.forEach((n, k) => {
    parts.push(
      `<text x="${label - 4}" y="${top + label + k * cell + cell / 2 + 4}" text-anchor="end">${escapeHtml(n.name)}</text>`,
    );
    const x = label + k * cell + cell / 2 + 4;
    parts.push(
      `<text x="${x}" y="${top + label - 4}" transform="rotate(-90 ${x} ${top + label - 4})">${escapeHtml(n.name)}</text>`,
    );
  });
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const p = graph.probabilities[i][j];
      const x = label + j * cell;
      const y = top + label + i * cell;
      const fill = i === j ? '#ddd' : shade(p);
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>${escapeHtml(`${graph.nodes[j].name} → ${graph.nodes[i].name}: ${p.toFixed(3)}`)}</title></rect>`,
      );
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export interface ContributionsFile {
  shop: string;
  /** History steps [from, to) measured (0-based indices of the shop's series). */
  from: number;
  to: number;
  actualGmv: number;
  fittedGmv: number;
  /** Mean absolute percentage error of the rollout's GMV against the observed GMV. */
  rolloutMape: number;
  channels: {
    channel: string;
    contribution: number;
    /** contribution / fitted GMV over the window. */
    share: number;
    spend: number;
    /** contribution / spend (GMV per unit of spend); null when nothing was spent. */
    roi: number | null;
    perStep: number[];
  }[];
}

export function contributionsFile(
  shop: string,
  channelNames: readonly string[],
  c: ShopContributions,
): ContributionsFile {
  const total = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
  const fitted = total(c.fitted);
  let ape = 0;
  let counted = 0;
  c.actual.forEach((a, t) => {
    if (a !== 0) {
      ape += Math.abs((c.fitted[t] - a) / a);
      counted++;
    }
  });
  return {
    shop,
    from: c.from,
    to: c.to,
    actualGmv: round(total(c.actual)),
    fittedGmv: round(fitted),
    rolloutMape: counted ? round(ape / counted, 4) : Number.NaN,
    channels: channelNames.map((channel, k) => {
      const contribution = total(c.contributions[k]);
      return {
        channel,
        contribution: round(contribution),
        share: fitted !== 0 ? round(contribution / fitted, 4) : 0,
        spend: round(c.spend[k]),
        roi: c.spend[k] > 0 ? round(contribution / c.spend[k], 4) : null,
        perStep: Array.from(c.contributions[k], (v) => round(v)),
      };
    }),
  };
}

export interface ForecastFile {
  shop: string;
  horizon: number;
  plan: 'default' | 'file';
  /** Node name → forecast per step (channels: the plan). */
  values: Record<string, number[]>;
}

export function forecastCsv(f: ForecastFile): string {
  const names = Object.keys(f.values);
  const rows = [['step', ...names].join(',')];
  for (let h = 0; h < f.horizon; h++) rows.push([h + 1, ...names.map((n) => f.values[n][h])].join(','));
  return `${rows.join('\n')}\n`;
}

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Response curves as lines: x = spend multiplier, y = GMV over the horizon. */
export function curvesSvg(shop: string, curves: readonly ResponseCurve[]): string {
  const width = 420;
  const height = 260;
  const pad = { left: 70, right: 110, top: 20, bottom: 30 };
  const all = curves.flatMap((c) => c.gmv);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const span = hi - lo || Math.abs(hi) || 1;
  const maxFactor = Math.max(...curves.flatMap((c) => c.factors));
  const px = (f: number) => pad.left + (f / maxFactor) * (width - pad.left - pad.right);
  const py = (v: number) => height - pad.bottom - ((v - lo) / span) * (height - pad.top - pad.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeHtml(`shop ${shop}: GMV over the horizon against spend multiplier`)}</title>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#888"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#888"/>`,
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 6}" text-anchor="middle">spend × plan</text>`,
    `<text x="${pad.left - 4}" y="${py(lo)}" text-anchor="end">${round(lo, 4)}</text>`,
    `<text x="${pad.left - 4}" y="${py(hi) + 8}" text-anchor="end">${round(hi, 4)}</text>`,
  ];
  for (const f of [0, maxFactor / 2, maxFactor]) {
    parts.push(
      `<text x="${px(f)}" y="${height - pad.bottom + 12}" text-anchor="middle">${round(f, 3)}</text>`,
    );
  }
  curves.forEach((c, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const points = c.factors.map((f, i) => `${px(f).toFixed(1)},${py(c.gmv[i]).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"/>`);
    parts.push(
      `<text x="${width - pad.right + 6}" y="${pad.top + 12 * k + 8}" fill="${colour}">${escapeHtml(c.channel)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export interface ShopSummary {
  shop: string;
  folder: string;
  edges: number;
  forecastGmv: number;
  contributions: Omit<ContributionsFile['channels'][number], 'perStep'>[];
  rolloutMape: number;
}

const fmt = (v: number | null) =>
  v === null || !Number.isFinite(v)
    ? '–'
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : v.toPrecision(3);

/** The overview page: one row per shop, linking its files and showing its heatmap and curves. */
export function indexHtml(info: {
  title: string;
  data: string;
  horizon: number;
  window: string;
  threshold: number;
  shops: ShopSummary[];
  notes: string[];
}): string {
  const rows = info.shops.map((s) => {
    const top = [...s.contributions]
      .sort((a, b) => b.contribution - a.contribution)
      .slice(0, 3)
      .map((c) => `${escapeHtml(c.channel)} ${(100 * c.share).toFixed(1)}% (ROI ${fmt(c.roi)})`)
      .join('<br>');
    const f = encodeURI(s.folder);
    const link = (file: string, text: string) => `<a href="shops/${f}/${file}">${text}</a>`;
    return `<tr><td>${escapeHtml(s.shop)}</td><td class="n">${fmt(s.forecastGmv)}</td><td>${top}</td><td class="n">${s.edges}</td><td class="n">${(100 * s.rolloutMape).toFixed(1)}%</td>
<td><img loading="lazy" src="shops/${f}/heatmap.svg" alt="graph heatmap" height="160"></td><td><img loading="lazy" src="shops/${f}/curves.svg" alt="response curves" height="160"></td>
<td>${[link('graph.json', 'graph'), link('graph.dot', 'dot'), link('forecast.csv', 'forecast'), link('contributions.json', 'contributions'), link('curves.json', 'curves')].join(' · ')}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}td.n{text-align:right}th{background:#f3f3f3}</style>
</head><body>
<h1>${escapeHtml(info.title)}</h1>
<p>Data: <code>${escapeHtml(info.data)}</code> · ${info.shops.length} shops · forecast horizon ${info.horizon} steps · contributions over ${escapeHtml(info.window)} · edges drawn at P ≥ ${info.threshold}</p>
${info.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
<table><thead><tr><th>shop</th><th>forecast GMV (horizon)</th><th>top channels: share of GMV (ROI)</th><th>edges</th><th>rollout MAPE</th><th>learned graph (row = effect, column = cause)</th><th>response curves</th><th>files</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
</body></html>
`;
}
