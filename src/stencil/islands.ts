import type { Bitmap } from './bitmap';
import { labelComponents } from './components';

/** A 4-connected white region that does not reach the border: it falls out when the ink around it is cut. */
export interface Island {
  /** Its label in `IslandMap.labels`. */
  label: number;
  area: number;
  /** Centroid in pixel coordinates. */
  cx: number;
  cy: number;
}

export interface IslandMap {
  /** 4-connected white regions, labelled 1..n (0 = ink); islands are the ones listed in `islands`. */
  labels: Int32Array;
  regionCount: number;
  islands: Island[];
}

export function findIslands(bitmap: Bitmap): IslandMap {
  const sheet = labelComponents(bitmap, 0, 4);
  const sumX = new Float64Array(sheet.count + 1);
  const sumY = new Float64Array(sheet.count + 1);
  for (let i = 0; i < sheet.labels.length; i++) {
    const label = sheet.labels[i];
    if (label === 0 || sheet.touchesBorder[label]) continue;
    sumX[label] += i % bitmap.width;
    sumY[label] += Math.floor(i / bitmap.width);
  }
  const islands: Island[] = [];
  for (let label = 1; label <= sheet.count; label++) {
    if (sheet.touchesBorder[label]) continue;
    const area = sheet.area[label];
    islands.push({ label, area, cx: sumX[label] / area, cy: sumY[label] / area });
  }
  return { labels: sheet.labels, regionCount: sheet.count, islands };
}
