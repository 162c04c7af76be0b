import { Resvg } from '@resvg/resvg-js';

/** Renders an SVG document to PNG at `zoom` × its size on a white background (resvg, no browser). */
export function svgToPng(svg: string, zoom = 2): Uint8Array {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: zoom }, background: 'white' }).render().asPng();
}
