import type { Bitmap } from './bitmap';

/** Connected regions of one colour. Labels run 1..count; 0 marks pixels of the other colour. */
export interface Components {
  labels: Int32Array;
  count: number;
  /** Indexed by label (entry 0 unused). */
  area: Int32Array;
  /** Indexed by label: 1 when the region reaches the image border. */
  touchesBorder: Uint8Array;
}

/**
 * Labels the regions of pixels equal to `value`. White regions use 4-connectivity (a sheet joined only at
 * a corner falls apart when cut); ink regions use 8-connectivity, the dual, so the two views agree.
 */
export function labelComponents(bitmap: Bitmap, value: 0 | 1, connectivity: 4 | 8): Components {
  const { width, height, data } = bitmap;
  const labels = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  const areas: number[] = [0];
  const border: number[] = [0];
  let count = 0;
  for (let start = 0; start < data.length; start++) {
    if (data[start] !== value || labels[start] !== 0) continue;
    const label = ++count;
    let area = 0;
    let touches = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const p = stack[--top];
      area++;
      const x = p % width;
      const y = (p - x) / width;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) touches = 1;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (connectivity === 4 && dx !== 0 && dy !== 0)) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (data[q] === value && labels[q] === 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    areas.push(area);
    border.push(touches);
  }
  return { labels, count, area: Int32Array.from(areas), touchesBorder: Uint8Array.from(border) };
}
