// Bridges: strips of sheet laid across ink so that no island falls out. After `bridgeIslands` all white
// is one 4-connected region.
import { cloneBitmap, type Bitmap } from './bitmap';
import { findIslands, type Island, type IslandMap } from './islands';

export interface BridgeOptions {
  /** Bridge width in pixels. */
  width: number;
  /** Bridges for every island. */
  perIsland: number;
  /** Each full multiple of this area (px²) gives an island one more bridge; 0 turns that off. */
  largeIslandArea: number;
  /** Islands smaller than this (px²) are filled with ink instead of bridged; 0 keeps them all. */
  minIslandArea: number;
}

export const DEFAULT_BRIDGE_OPTIONS: BridgeOptions = { width: 3, perIsland: 1, largeIslandArea: 20_000, minIslandArea: 0 };

/** The most bridges one island gets, however large. */
const MAX_BRIDGES_PER_ISLAND = 8;

export interface Bridge {
  /** Centre-line pixel indices through former ink, from a pixel next to `ends[0]` to one next to `ends[1]`. */
  path: number[];
  /** The white regions it joins (labels of `BridgeResult.islandMap`). */
  ends: [number, number];
}

export interface BridgeResult {
  bitmap: Bitmap;
  /** White regions and islands of the input after small islands were deleted, before bridging. */
  islandMap: IslandMap;
  bridges: Bridge[];
  /** Islands below `minIslandArea`, filled with ink. */
  deleted: Island[];
  /** 1 on the pixels of deleted islands. */
  deletedMask: Uint8Array;
  /** 1 where a (widened) bridge turned ink into sheet. */
  mask: Uint8Array;
}

export function bridgeIslands(input: Bitmap, options: Partial<BridgeOptions> = {}): BridgeResult {
  const opts = { ...DEFAULT_BRIDGE_OPTIONS, ...options };
  const { bitmap, deleted, deletedMask } = deleteSmallIslands(input, opts.minIslandArea);
  const islandMap = findIslands(bitmap);
  const work = cloneBitmap(bitmap);
  // Region label of every white pixel; carved bridge pixels take the label of the side they grew from.
  const region = islandMap.labels.slice();
  const bridges = connectAllRegions(work, region, islandMap.regionCount);
  for (const island of islandMap.islands) {
    const wanted = Math.min(
      MAX_BRIDGES_PER_ISLAND,
      opts.perIsland + (opts.largeIslandArea > 0 ? Math.floor(island.area / opts.largeIslandArea) : 0),
    );
    bridges.push(...extraBridges(work, region, islandMap.labels, island, bridges, wanted));
  }
  const mask = widen(work, bridges, opts.width);
  return { bitmap: work, islandMap, bridges, deleted, deletedMask, mask };
}

function deleteSmallIslands(input: Bitmap, minArea: number): { bitmap: Bitmap; deleted: Island[]; deletedMask: Uint8Array } {
  const deletedMask = new Uint8Array(input.data.length);
  if (minArea <= 0) return { bitmap: input, deleted: [], deletedMask };
  const map = findIslands(input);
  const deleted = map.islands.filter((island) => island.area < minArea);
  const small = new Uint8Array(map.regionCount + 1);
  for (const island of deleted) small[island.label] = 1;
  const bitmap = cloneBitmap(input);
  for (let i = 0; i < bitmap.data.length; i++) {
    if (small[map.labels[i]]) bitmap.data[i] = deletedMask[i] = 1;
  }
  return { bitmap, deleted, deletedMask };
}

/**
 * Borůvka's minimum spanning tree over the white regions: each round grows every region outwards through
 * ink at once (one multi-source BFS), gives every group its shortest link to another group and carves
 * those links. Groups at least halve each round, so a few linear passes join everything with short bridges.
 */
function connectAllRegions(work: Bitmap, region: Int32Array, regionCount: number): Bridge[] {
  const { width, height, data } = work;
  const n = width * height;
  const parentGroup = new Int32Array(regionCount + 1).map((_, i) => i);
  const find = (g: number): number => {
    while (parentGroup[g] !== g) g = parentGroup[g] = parentGroup[parentGroup[g]];
    return g;
  };
  let groups = regionCount;
  const bridges: Bridge[] = [];
  const dist = new Int32Array(n);
  const source = new Int32Array(n); // region label of the white pixel each pixel was reached from
  const cameFrom = new Int32Array(n);
  const queue = new Int32Array(n);
  const bestCost = new Int32Array(regionCount + 1);
  const bestPair = new Int32Array(2 * (regionCount + 1));
  while (groups > 1) {
    let head = 0;
    let tail = 0;
    dist.fill(-1);
    for (let i = 0; i < n; i++) {
      if (data[i] === 0) {
        dist[i] = 0;
        source[i] = region[i];
        cameFrom[i] = -1;
        queue[tail++] = i;
      }
    }
    while (head < tail) {
      const p = queue[head++];
      const x = p % width;
      for (let k = 0; k < 4; k++) {
        const q = k === 0 ? (x > 0 ? p - 1 : -1) : k === 1 ? (x < width - 1 ? p + 1 : -1) : k === 2 ? p - width : p + width;
        if (q < 0 || q >= n || dist[q] !== -1) continue;
        dist[q] = dist[p] + 1;
        source[q] = source[p];
        cameFrom[q] = p;
        queue[tail++] = q;
      }
    }
    bestCost.fill(0x7fffffff);
    const offer = (g: number, cost: number, p: number, q: number) => {
      if (cost < bestCost[g]) {
        bestCost[g] = cost;
        bestPair[2 * g] = p;
        bestPair[2 * g + 1] = q;
      }
    };
    const consider = (p: number, q: number) => {
      if (source[p] === source[q]) return; // same region: the common case, no lookup needed
      const gp = find(source[p]);
      const gq = find(source[q]);
      if (gp === gq) return;
      offer(gp, dist[p] + dist[q], p, q);
      offer(gq, dist[p] + dist[q], p, q);
    };
    for (let p = 0; p < n; p++) {
      if (p % width < width - 1) consider(p, p + 1);
      if (p < n - width) consider(p, p + width);
    }
    for (let g = 1; g <= regionCount; g++) {
      if (bestCost[g] === 0x7fffffff || find(g) !== g) continue;
      const p = bestPair[2 * g];
      const q = bestPair[2 * g + 1];
      const a = find(source[p]);
      const b = find(source[q]);
      if (a === b) continue;
      const path = [...tracePath(p, cameFrom).reverse(), ...tracePath(q, cameFrom)];
      carve(work, region, path, source[p]);
      if (path.length > 0) bridges.push({ path, ends: [source[p], source[q]] });
      parentGroup[a] = b;
      groups--;
    }
  }
  return bridges;
}

/** Ink pixels from `p` back along the BFS tree to (not including) the white pixel it was reached from. */
function tracePath(p: number, cameFrom: Int32Array): number[] {
  const path: number[] = [];
  for (let q = p; cameFrom[q] !== -1; q = cameFrom[q]) path.push(q);
  return path;
}

function carve(work: Bitmap, region: Int32Array, path: number[], label: number): void {
  for (const p of path) {
    work.data[p] = 0;
    region[p] = label;
  }
}

/**
 * Further bridges for an island that wants more than one: the island's outline is split into `wanted`
 * equal angular sectors around its centroid (the first centred on its existing bridge), and each sector
 * without a bridge gets a short one: among those at most a little longer than the sector's shortest, the
 * one leaving closest to the sector's middle, so bridges spread evenly around the island.
 */
function extraBridges(
  work: Bitmap,
  region: Int32Array,
  islandLabels: Int32Array,
  island: Island,
  existing: Bridge[],
  wanted: number,
): Bridge[] {
  const { width, height, data } = work;
  const own = existing.filter((b) => b.ends[0] === island.label || b.ends[1] === island.label);
  if (own.length >= wanted) return [];
  const n = width * height;
  const ownBridge = new Uint8Array(n);
  for (const b of own) for (const p of b.path) ownBridge[p] = 1;
  const angleOf = (p: number) => Math.atan2(Math.floor(p / width) - island.cy, (p % width) - island.cx);
  const attachAngle = (b: Bridge) => angleOf(b.ends[0] === island.label ? b.path[0] : b.path[b.path.length - 1]);
  const sectorWidth = (2 * Math.PI) / wanted;
  const offset = own.length > 0 ? attachAngle(own[0]) - sectorWidth / 2 : 0;
  const turn = (a: number) => ((a % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
  const sectorOf = (angle: number) => Math.min(wanted - 1, Math.floor(turn(angle - offset) / sectorWidth));
  const offCentre = (angle: number, s: number) => {
    const d = turn(angle - offset - (s + 0.5) * sectorWidth);
    return Math.min(d, 2 * Math.PI - d);
  };
  const needed = new Uint8Array(wanted).fill(1);
  for (const b of own) needed[sectorOf(attachAngle(b))] = 0;
  let open = needed.reduce((sum, v) => sum + v, 0);
  // Per sector: the chosen candidate (last ink pixel, target) and the longest path still worth a look.
  const best = Array.from({ length: wanted }, () => ({ p: -1, q: -1, error: Infinity, limit: Infinity }));

  const sector = new Int8Array(n).fill(-1);
  const cameFrom = new Int32Array(n).fill(-1);
  const origin = new Int32Array(n);
  const dist = new Int32Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let p = 0; p < n; p++) {
    if (islandLabels[p] === island.label) {
      sector[p] = sectorOf(angleOf(p));
      origin[p] = p;
      queue[tail++] = p;
    }
  }
  const isTarget = (q: number) => data[q] === 0 && islandLabels[q] !== island.label && !ownBridge[q];
  for (let head = 0; head < tail && open > 0; head++) {
    const p = queue[head];
    const s = sector[p];
    for (let k = 0; k < best.length; k++) {
      if (needed[k] && dist[p] > best[k].limit) {
        needed[k] = 0;
        open--;
      }
    }
    const x = p % width;
    const y = (p - x) / width;
    const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1];
    for (const q of neighbours) {
      if (q < 0 || sector[q] !== -1) continue;
      if (isTarget(q)) {
        if (!needed[s] || data[p] === 0) continue; // from the island itself: already joined, no bridge
        const candidate = best[s];
        const error = offCentre(angleOf(origin[p]), s);
        if (candidate.p === -1) candidate.limit = dist[p] + Math.max(2, Math.round(dist[p] / 4));
        if (error < candidate.error) Object.assign(candidate, { p, q, error });
        continue;
      }
      if (data[q] === 1) {
        sector[q] = s;
        cameFrom[q] = p;
        origin[q] = origin[p];
        dist[q] = dist[p] + 1;
        queue[tail++] = q;
      }
    }
  }
  const found: Bridge[] = [];
  for (const { p, q } of best) {
    if (p === -1) continue;
    const path = tracePath(p, cameFrom).reverse();
    carve(work, region, path, island.label);
    found.push({ path, ends: [island.label, region[q]] });
  }
  return found;
}

/** Lays a `width`-pixel square brush along every bridge centre line; returns the pixels that turned white. */
function widen(work: Bitmap, bridges: Bridge[], width: number): Uint8Array {
  const { width: w, height: h, data } = work;
  const mask = new Uint8Array(w * h);
  const before = Math.floor((Math.max(1, Math.round(width)) - 1) / 2);
  const after = Math.max(1, Math.round(width)) - 1 - before;
  for (const bridge of bridges) {
    for (const p of bridge.path) {
      const x = p % w;
      const y = (p - x) / w;
      for (let yy = Math.max(0, y - before); yy <= Math.min(h - 1, y + after); yy++) {
        for (let xx = Math.max(0, x - before); xx <= Math.min(w - 1, x + after); xx++) {
          const q = yy * w + xx;
          if (data[q] === 1) {
            data[q] = 0;
            mask[q] = 1;
          }
        }
      }
      mask[p] = 1;
    }
  }
  return mask;
}
