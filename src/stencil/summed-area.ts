// Summed-area table: any box sum in O(1), so local means and majority votes cost the same at every radius.

export interface SummedArea {
  /** (width + 1) × (height + 1); entry (x, y) is the sum of values[0..y-1][0..x-1]. */
  table: Float64Array;
  width: number;
  height: number;
}

export function summedArea(values: ArrayLike<number>, width: number, height: number): SummedArea {
  const stride = width + 1;
  const table = new Float64Array(stride * (height + 1));
  for (let y = 0; y < height; y++) {
    let rowSum = 0;
    for (let x = 0; x < width; x++) {
      rowSum += values[y * width + x];
      table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + rowSum;
    }
  }
  return { table, width, height };
}

/** Sum and pixel count over the box of half-size `radius` around (x, y), clipped to the image. */
export function boxSum(area: SummedArea, x: number, y: number, radius: number): { sum: number; count: number } {
  const x0 = Math.max(0, x - radius);
  const y0 = Math.max(0, y - radius);
  const x1 = Math.min(area.width, x + radius + 1);
  const y1 = Math.min(area.height, y + radius + 1);
  const s = area.width + 1;
  const t = area.table;
  return {
    sum: t[y1 * s + x1] - t[y0 * s + x1] - t[y1 * s + x0] + t[y0 * s + x0],
    count: (x1 - x0) * (y1 - y0),
  };
}
