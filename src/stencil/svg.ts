// Path-only SVG for cutters: no embedded bitmap, no groups or transforms, one <path> per layer.
import type { Contour, Point, Shape } from './path-geometry';

export interface SvgLayer {
  id: string;
  /** CSS colour of the layer's fill. */
  fill: string;
  shapes: Shape[];
}

export interface SvgOptions {
  /** Pixel size of the traced bitmap: the viewBox. */
  width: number;
  height: number;
  /** Physical width in millimetres; the height follows the aspect ratio. Unset: unitless pixels. */
  widthMm?: number;
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);
const pt = (p: Point) => `${fmt(p.x)} ${fmt(p.y)}`;

function contourData(c: Contour): string {
  const parts = [`M${pt(c.start)}`];
  for (const s of c.segments) parts.push(s.kind === 'line' ? `L${pt(s.to)}` : `C${pt(s.c1)} ${pt(s.c2)} ${pt(s.to)}`);
  parts.push('Z');
  return parts.join('');
}

/** Path data for all shapes, absolute coordinates; holes are separate subpaths (filled even-odd). */
function pathData(shapes: Shape[]): string {
  return shapes.flatMap((shape) => shape.map(contourData)).join('');
}

export function toSvg(layers: SvgLayer[], options: SvgOptions): string {
  const { width, height, widthMm } = options;
  const size =
    widthMm !== undefined
      ? `width="${fmt(widthMm)}mm" height="${fmt((widthMm * height) / width)}mm"`
      : `width="${width}" height="${height}"`;
  const paths = layers
    .filter((layer) => layer.shapes.length > 0)
    .map((layer) => `  <path id="${layer.id}" fill="${layer.fill}" fill-rule="evenodd" d="${pathData(layer.shapes)}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" ${size} viewBox="0 0 ${width} ${height}">`,
    ...paths,
    '</svg>',
    '',
  ].join('\n');
}
