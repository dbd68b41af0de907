import { describe, expect, it } from 'vitest';
import { bridgeIslands } from '../../src/stencil/bridges';
import { stencilToSvg, traceStencil, tracedToDxf, tracedToSvg } from '../../src/stencil/export';
import { makeStencil } from '../../src/stencil/stencil';
import { shapeArea } from '../../src/stencil/path-geometry';
import { traceBitmap } from '../../src/stencil/vectorize';
import { any, bitmapOf, disc, grayImage, inkCount, paint, random, rect, ring } from './draw';
import { parseSvg, pathArea } from './svg-check';

function scene() {
  const rand = random(3);
  const blobs = Array.from({ length: 12 }, () => disc(200 + rand() * 100, 20 + rand() * 200, 4 + rand() * 10));
  return bitmapOf(320, 240, any(ring(80, 80, 25, 45), rect(20, 150, 140, 220), disc(60, 185, 15), ...blobs));
}

describe('vectorise', () => {
  it('writes a parseable SVG of paths only whose filled area matches the bitmap within 2%', async () => {
    const bitmap = bridgeIslands(scene()).bitmap;
    const traced = await traceStencil({ width: 320, height: 240, layers: [{ name: 'ink', bitmap }] });
    const svg = tracedToSvg(traced);
    const elements = parseSvg(svg);
    expect(elements[0].name).toBe('svg');
    expect(elements.slice(1).map((e) => e.name)).toEqual(['path']);
    expect(svg).not.toMatch(/<image|<g[\s>]|transform=/);
    const area = Math.abs(pathArea(elements[1].attrs.d));
    const ink = inkCount(bitmap);
    expect(Math.abs(area - ink) / ink).toBeLessThan(0.02);
    expect(traced.nodes).toBeGreaterThan(10);
  });

  it('sets the physical size in millimetres and keeps the aspect ratio', async () => {
    const img = paint(grayImage(200, 100), 0, disc(100, 50, 30));
    const svg = await stencilToSvg(makeStencil(img), { widthMm: 150 });
    const root = parseSvg(svg)[0];
    expect(root.attrs.width).toBe('150mm');
    expect(root.attrs.height).toBe('75mm');
    expect(root.attrs.viewBox).toBe('0 0 200 100');
  });

  it('turns corners sharp or smooth with the corner threshold', async () => {
    const square = bitmapOf(60, 60, rect(10, 10, 50, 50));
    const sharp = await traceBitmap(square, { cornerThreshold: 0 });
    const segments = sharp.shapes.flat().flatMap((c) => c.segments);
    expect(segments.every((s) => s.kind === 'line')).toBe(true);
    const round = await traceBitmap(bitmapOf(60, 60, disc(30, 30, 20)), { cornerThreshold: 1.334 });
    expect(round.shapes.flat().flatMap((c) => c.segments).some((s) => s.kind === 'cubic')).toBe(true);
  });

  it('holds a node cap by simplifying and then dropping the smallest shapes', async () => {
    const rand = random(11);
    const noisy = bitmapOf(200, 200, (x, y) => rand() < 0.15 || disc(100, 100, 40)(x, y));
    const free = await traceBitmap(noisy, { turdSize: 0 });
    expect(free.nodes).toBeGreaterThan(400);
    const capped = await traceBitmap(noisy, { turdSize: 0, maxNodes: 100 });
    expect(capped.nodes).toBeLessThanOrEqual(100);
    expect(capped.notices[0]).toMatch(/exceed the cap of 100/);
    // The big disc survives.
    const largest = Math.max(...capped.shapes.map(shapeArea));
    expect(largest).toBeGreaterThan(Math.PI * 40 * 40 * 0.9);
  });

  it('writes one SVG path per tone layer and a DXF of closed polylines', async () => {
    const img = paint(paint(grayImage(160, 80), 20, disc(40, 40, 25)), 128, disc(120, 40, 25));
    const traced = await traceStencil(makeStencil(img, { layers: 2 }), { widthMm: 80 });
    const paths = parseSvg(tracedToSvg(traced)).filter((e) => e.name === 'path');
    expect(paths.map((p) => p.attrs.id)).toEqual(['layer-dark', 'layer-light']);
    const dxf = tracedToDxf(traced);
    expect(dxf.match(/\nLWPOLYLINE\n/g)).toHaveLength(2);
    expect(dxf).toMatch(/\n8\ndark\n/);
    expect(dxf.trimEnd().endsWith('EOF')).toBe(true);
    // Millimetres: 160 px wide at 80 mm, so every x lies in [0, 80].
    const xs = [...dxf.matchAll(/\n10\n([-\d.]+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...xs)).toBeLessThanOrEqual(80);
    expect(Math.max(...xs)).toBeGreaterThan(70);
  });
});
