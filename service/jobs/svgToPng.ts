/**
 * SVG plots as PNG, rendered on the server by resvg (a Rust SVG renderer with a prebuilt Node
 * binding), so the CLI's --out and artifact links give a picture any viewer opens, not only
 * the SVG. System fonts draw the labels.
 */
import { Resvg } from '@resvg/resvg-js';

/** PNG bytes of an SVG document, at the SVG's own size times `scale` (2 keeps text crisp). */
export function svgToPng(svg: Uint8Array, scale = 2): Uint8Array {
  const r = new Resvg(Buffer.from(svg), { fitTo: { mode: 'zoom', value: scale }, background: 'white' });
  return new Uint8Array(r.render().asPng());
}
