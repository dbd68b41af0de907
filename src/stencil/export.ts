// Stencil -> vector files: each layer traced on its own, then written as SVG or DXF.
import { toDxf } from './dxf';
import type { Shape } from './path-geometry';
import type { Bitmap } from './bitmap';
import { toSvg } from './svg';
import { traceBitmap, type TraceOptions } from './vectorize';

export interface VectorOptions extends Partial<TraceOptions> {
  /** Physical width in millimetres; the height follows the aspect ratio. */
  widthMm?: number;
}

export interface TracedStencil {
  width: number;
  height: number;
  widthMm?: number;
  layers: { name: string; shapes: Shape[] }[];
  nodes: number;
  notices: string[];
}

/** Ink colour per layer in the SVG, darkest first, so a cutter or viewer can tell the layers apart. */
const LAYER_FILLS: Record<number, string[]> = { 1: ['#000000'], 2: ['#000000', '#808080'], 3: ['#000000', '#606060', '#b0b0b0'] };

/** Traces every layer. A node cap is shared out among the layers in proportion to their uncapped nodes. */
export async function traceStencil(
  stencil: { width: number; height: number; layers: { name: string; bitmap: Bitmap }[] },
  options: VectorOptions = {},
): Promise<TracedStencil> {
  const { widthMm, maxNodes = 0, ...trace } = options;
  if (widthMm !== undefined && !(widthMm > 0)) throw new RangeError(`widthMm must be positive, got ${widthMm}`);
  let traced = await Promise.all(stencil.layers.map((l) => traceBitmap(l.bitmap, trace)));
  const uncapped = traced.reduce((n, t) => n + t.nodes, 0);
  if (maxNodes > 0 && uncapped > maxNodes) {
    traced = await Promise.all(
      stencil.layers.map((l, i) =>
        traceBitmap(l.bitmap, { ...trace, maxNodes: Math.max(1, Math.floor((maxNodes * traced[i].nodes) / uncapped)) }),
      ),
    );
  }
  const named = (notice: string, i: number) => (stencil.layers.length > 1 ? `layer '${stencil.layers[i].name}': ${notice}` : notice);
  return {
    width: stencil.width,
    height: stencil.height,
    widthMm,
    layers: stencil.layers.map((l, i) => ({ name: l.name, shapes: traced[i].shapes })),
    nodes: traced.reduce((n, t) => n + t.nodes, 0),
    notices: traced.flatMap((t, i) => t.notices.map((n) => named(n, i))),
  };
}

export function tracedToSvg(traced: TracedStencil): string {
  const fills = LAYER_FILLS[traced.layers.length];
  return toSvg(
    traced.layers.map((l, i) => ({ id: `layer-${l.name}`, fill: fills[i], shapes: l.shapes })),
    traced,
  );
}

export function tracedToDxf(traced: TracedStencil): string {
  return toDxf(traced.layers, traced);
}

/** Convenience: stencil -> SVG text. */
export async function stencilToSvg(stencil: Parameters<typeof traceStencil>[0], options: VectorOptions = {}): Promise<string> {
  return tracedToSvg(await traceStencil(stencil, options));
}
