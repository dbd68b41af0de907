// Bitmap -> outlines with potrace: ink is traced, sheet is not.
import type { Bitmap } from './bitmap';
import { nodeCount, shapeArea, type Shape } from './path-geometry';
import { parsePotracePath } from './potrace-paths';
import { loadPotrace } from './potrace-loader';

/** How potrace resolves ambiguous 2×2 checkerboard pixels. */
export const TURN_POLICIES = ['black', 'white', 'left', 'right', 'minority', 'majority', 'random'] as const;
export type TurnPolicy = (typeof TURN_POLICIES)[number];

export interface TraceOptions {
  /** Outlines enclosing fewer pixels than this are dropped (potrace `turdsize`). */
  turdSize: number;
  turnPolicy: TurnPolicy;
  /** 0 = every vertex a sharp corner .. 1.334 = all smooth curves (potrace `alphamax`). */
  cornerThreshold: number;
  /** Join adjacent Bézier segments where the result stays within `curveTolerance` (potrace `opticurve`). */
  optimizeCurves: boolean;
  curveTolerance: number;
  /** At most this many nodes in all (cutter software chokes on more); 0 = no cap. */
  maxNodes: number;
}

export const DEFAULT_TRACE_OPTIONS: TraceOptions = {
  turdSize: 2,
  turnPolicy: 'minority',
  cornerThreshold: 1,
  optimizeCurves: true,
  curveTolerance: 0.2,
  maxNodes: 0,
};

export interface Trace {
  shapes: Shape[];
  nodes: number;
  notices: string[];
}

async function traceOnce(bitmap: Bitmap, o: TraceOptions): Promise<Shape[]> {
  const potrace = await loadPotrace();
  const rgba = new Uint8ClampedArray(bitmap.width * bitmap.height * 4);
  for (let p = 0, i = 0; p < bitmap.data.length; p++, i += 4) {
    const v = bitmap.data[p] ? 0 : 255;
    rgba[i] = rgba[i + 1] = rgba[i + 2] = v;
    rgba[i + 3] = 255;
  }
  // Not a real ImageData: the package reads width, height and data from anything that is not a DOM image.
  const image = { width: bitmap.width, height: bitmap.height, data: rgba } as unknown as ImageData;
  const paths = await potrace(image, {
    pathonly: true,
    extractcolors: false,
    turdsize: o.turdSize,
    turnpolicy: TURN_POLICIES.indexOf(o.turnPolicy),
    alphamax: o.cornerThreshold,
    opticurve: o.optimizeCurves ? 1 : 0,
    opttolerance: o.curveTolerance,
  });
  return paths.map((d) => parsePotracePath(d, bitmap.height));
}

/**
 * Traces the ink of `bitmap`. Over `maxNodes`, it retraces with coarser settings, then drops the smallest
 * shapes until the cap holds, and says so in `notices`.
 */
export async function traceBitmap(bitmap: Bitmap, options: Partial<TraceOptions> = {}): Promise<Trace> {
  const o = { ...DEFAULT_TRACE_OPTIONS, ...options };
  let shapes = await traceOnce(bitmap, o);
  const notices: string[] = [];
  if (o.maxNodes <= 0 || nodeCount(shapes) <= o.maxNodes) return { shapes, nodes: nodeCount(shapes), notices };
  const first = nodeCount(shapes);
  for (const coarser of [
    { curveTolerance: Math.max(o.curveTolerance, 0.6), cornerThreshold: Math.max(o.cornerThreshold, 1.2), turdSize: Math.max(o.turdSize, 8) },
    { curveTolerance: Math.max(o.curveTolerance, 1.2), cornerThreshold: 1.334, turdSize: Math.max(o.turdSize, 32) },
  ]) {
    shapes = await traceOnce(bitmap, { ...o, optimizeCurves: true, ...coarser });
    if (nodeCount(shapes) <= o.maxNodes) break;
  }
  let nodes = nodeCount(shapes);
  let dropped = 0;
  if (nodes > o.maxNodes) {
    const bySize = shapes.map((s) => ({ s, area: shapeArea(s), nodes: nodeCount([s]) })).sort((a, b) => b.area - a.area);
    while (nodes > o.maxNodes && bySize.length > 0) {
      nodes -= bySize.pop()!.nodes;
      dropped++;
    }
    shapes = bySize.map((e) => e.s);
  }
  notices.push(
    `${first} nodes exceed the cap of ${o.maxNodes}: traced with coarser curves` +
      (dropped > 0 ? ` and dropped the ${dropped} smallest shapes` : '') + `, now ${nodes} nodes`,
  );
  return { shapes, nodes, notices };
}
