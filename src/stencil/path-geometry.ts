// Closed outlines made of straight lines and cubic Béziers, in pixel coordinates (y down).

export interface Point {
  x: number;
  y: number;
}

export type Segment = { kind: 'line'; to: Point } | { kind: 'cubic'; c1: Point; c2: Point; to: Point };

export interface Contour {
  start: Point;
  segments: Segment[];
}

/** An outline with its holes: what potrace emits as one path group. */
export type Shape = Contour[];

/** Nodes as cutter software counts them: one per segment end. */
export function nodeCount(shapes: Shape[]): number {
  let n = 0;
  for (const shape of shapes) for (const contour of shape) n += contour.segments.length;
  return n;
}

/** The contour as a polyline, each cubic cut into `steps` chords. */
export function flatten(contour: Contour, steps = 16): Point[] {
  const points: Point[] = [contour.start];
  let from = contour.start;
  for (const s of contour.segments) {
    if (s.kind === 'line') points.push(s.to);
    else {
      for (let i = 1; i <= steps; i++) {
        const t = i / steps;
        const u = 1 - t;
        const a = u * u * u;
        const b = 3 * u * u * t;
        const c = 3 * u * t * t;
        const d = t * t * t;
        points.push({
          x: a * from.x + b * s.c1.x + c * s.c2.x + d * s.to.x,
          y: a * from.y + b * s.c1.y + c * s.c2.y + d * s.to.y,
        });
      }
    }
    from = s.to;
  }
  return points;
}

/** Shoelace area of the flattened contour; the sign gives its orientation. */
export function signedArea(contour: Contour): number {
  const pts = flatten(contour);
  let a = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    const q = pts[(i + 1) % pts.length];
    a += p.x * q.y - q.x * p.y;
  }
  return a / 2;
}

/** Filled area of a shape: the outline's area less its holes' (potrace winds holes the other way). */
export function shapeArea(shape: Shape): number {
  return Math.abs(shape.reduce((sum, c) => sum + signedArea(c), 0));
}
