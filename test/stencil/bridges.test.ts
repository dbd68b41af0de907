import { describe, expect, it } from 'vitest';
import { bridgeIslands } from '../../src/stencil/bridges';
import { findIslands } from '../../src/stencil/islands';
import { any, bitmapOf, disc, inkCount, random, rect, ring, whiteRegions } from './draw';

describe('islands and bridges', () => {
  it('finds the middle of an "O" as an island and bridges it to the sheet', () => {
    const o = bitmapOf(100, 100, ring(50, 50, 20, 32));
    const islands = findIslands(o).islands;
    expect(islands).toHaveLength(1);
    expect(islands[0].area).toBeGreaterThan(Math.PI * 19 * 19);
    expect(whiteRegions(o)).toBe(2);

    const result = bridgeIslands(o, { width: 3 });
    expect(result.bridges.length).toBeGreaterThanOrEqual(1);
    expect(whiteRegions(result.bitmap)).toBe(1);
    // A short bridge straight across the ring (12 px of ink), 3 px wide, and nothing else cut.
    expect(result.bridges[0].path.length).toBeLessThanOrEqual(13);
    const removed = inkCount(o) - inkCount(result.bitmap);
    expect(removed).toBeGreaterThanOrEqual(3 * 12);
    expect(removed).toBeLessThanOrEqual(3 * 14);
    expect(removed).toBe(result.mask.reduce((s, v) => s + v, 0));
  });

  it('joins nested rings, a sheet split in two and scattered islands into one white region', () => {
    const rand = random(7);
    const dots = Array.from({ length: 25 }, () => ring(20 + rand() * 160, 120 + rand() * 60, 2, 5));
    const b = bitmapOf(
      200,
      200,
      any(ring(60, 55, 10, 16), ring(60, 55, 24, 30), ring(60, 55, 38, 44), rect(130, 0, 136, 100), ...dots),
    );
    expect(whiteRegions(b)).toBeGreaterThan(20);
    const result = bridgeIslands(b, { width: 2 });
    expect(whiteRegions(result.bitmap)).toBe(1);
    // Bridges only remove ink.
    for (let i = 0; i < b.data.length; i++) expect(result.bitmap.data[i]).toBeLessThanOrEqual(b.data[i]);
  });

  it('gives large islands more bridges, spread around them', () => {
    const o = bitmapOf(200, 200, (x, y) => rect(20, 20, 180, 180)(x, y) && !rect(30, 30, 170, 170)(x, y));
    const result = bridgeIslands(o, { width: 3, perIsland: 1, largeIslandArea: 6000 }); // 140² / 6000 → +3
    expect(result.bridges).toHaveLength(4);
    expect(whiteRegions(result.bitmap)).toBe(1);
    // Spread around the frame: where they leave the island, every two are at least 60° apart.
    const island = result.islandMap.islands[0];
    const angles = result.bridges.map((b) => {
      const p = b.ends[0] === island.label ? b.path[0] : b.path[b.path.length - 1];
      return Math.atan2(Math.floor(p / 200) - island.cy, (p % 200) - island.cx);
    });
    for (let i = 0; i < angles.length; i++) {
      for (let j = i + 1; j < angles.length; j++) {
        const d = Math.abs(angles[i] - angles[j]) % (2 * Math.PI);
        expect(Math.min(d, 2 * Math.PI - d)).toBeGreaterThan(Math.PI / 3);
      }
    }
    for (const b of result.bridges) expect(b.path.length).toBeLessThanOrEqual(11);
  });

  it('deletes islands below the minimum area instead of bridging them', () => {
    const b = bitmapOf(120, 60, any(ring(30, 30, 3, 10), ring(90, 30, 12, 20)));
    const result = bridgeIslands(b, { minIslandArea: 100 });
    expect(result.deleted).toHaveLength(1);
    expect(result.deleted[0].area).toBeLessThan(100);
    expect(result.bitmap.data[30 * 120 + 30]).toBe(1); // the small hole is ink now
    expect(result.deletedMask[30 * 120 + 30]).toBe(1);
    expect(result.bridges).toHaveLength(1); // only the big ring is bridged
    expect(whiteRegions(result.bitmap)).toBe(1);
  });

  it('leaves a stencil without islands untouched', () => {
    const b = bitmapOf(50, 50, disc(25, 25, 10));
    const result = bridgeIslands(b);
    expect(result.bridges).toHaveLength(0);
    expect(result.bitmap.data).toEqual(b.data);
  });
});
