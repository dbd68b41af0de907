// Reads the path data esm-potrace-wasm emits. Potrace's SVG backend writes integers in tenths of a pixel with
// y pointing up (its group transform is translate(0, height) scale(0.1, -0.1)), absolute `M` per group,
// then relative `m`, `l`, `c`, `z`, with command letters omitted when repeated.
import type { Contour, Point, Shape } from './path-geometry';

export function parsePotracePath(d: string, height: number): Shape {
  const tokens = d.match(/[MmLlCcZz]|-?\d*\.?\d+(?:e[-+]?\d+)?/g) ?? [];
  const toPixels = (x: number, y: number): Point => ({ x: x / 10, y: height - y / 10 });
  const shape: Shape = [];
  let contour: Contour | undefined;
  let cx = 0;
  let cy = 0;
  let startX = 0;
  let startY = 0;
  let command = '';
  let i = 0;
  const num = () => {
    const v = Number(tokens[i++]);
    if (!Number.isFinite(v)) throw new Error(`potrace path: expected a number at token ${i - 1} of '${d.slice(0, 80)}'`);
    return v;
  };
  while (i < tokens.length) {
    if (/[A-Za-z]/.test(tokens[i])) command = tokens[i++];
    const relative = command === command.toLowerCase();
    const ox = relative ? cx : 0;
    const oy = relative ? cy : 0;
    switch (command.toLowerCase()) {
      case 'm': {
        cx = startX = ox + num();
        cy = startY = oy + num();
        contour = { start: toPixels(cx, cy), segments: [] };
        shape.push(contour);
        command = relative ? 'l' : 'L'; // further pairs after a moveto are linetos
        break;
      }
      case 'l': {
        cx = ox + num();
        cy = oy + num();
        contour!.segments.push({ kind: 'line', to: toPixels(cx, cy) });
        break;
      }
      case 'c': {
        const c1 = toPixels(ox + num(), oy + num());
        const c2 = toPixels(ox + num(), oy + num());
        cx = ox + num();
        cy = oy + num();
        contour!.segments.push({ kind: 'cubic', c1, c2, to: toPixels(cx, cy) });
        break;
      }
      case 'z': {
        cx = startX;
        cy = startY;
        const last = contour!.segments[contour!.segments.length - 1];
        const start = contour!.start;
        // Potrace ends each curve on its start point; close explicitly otherwise.
        if (!last || last.to.x !== start.x || last.to.y !== start.y) contour!.segments.push({ kind: 'line', to: start });
        command = '';
        break;
      }
      default:
        throw new Error(`potrace path: unexpected '${tokens[i] ?? command}' in '${d.slice(0, 80)}'`);
    }
  }
  return shape;
}
