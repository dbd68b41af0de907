import { describe, expect, it } from 'vitest';
import { StencilInputError } from '../../src/stencil/errors';
import { renderPreview, renderStencil } from '../../src/stencil/render';
import { makeStencil } from '../../src/stencil/stencil';
import { disc, grayImage, inkCount, paint, random, ring, whiteRegions } from './draw';

/** An "O" with specks of noise, as a photo of a drawing might come out. */
function noisyO(size = 120) {
  const rand = random(5);
  const img = paint(grayImage(size, size, 235), 25, ring(size / 2, size / 2, size / 6, size / 3.5));
  for (let i = 0; i < 40; i++) {
    const x = Math.floor(rand() * size);
    const y = Math.floor(rand() * size);
    img.data[y * size + x] = 20;
  }
  return img;
}

describe('makeStencil', () => {
  it('thresholds, removes specks and bridges an "O" into one piece of sheet', () => {
    const stencil = makeStencil(noisyO(), { despeckle: 9 });
    const [layer] = stencil.layers;
    expect(layer.islands).toHaveLength(1);
    expect(layer.bridges.length).toBeGreaterThanOrEqual(1);
    expect(whiteRegions(layer.bitmap)).toBe(1);
    // Only the ring is ink: no specks left, ring area less the bridge.
    const ringArea = noisyO().data.reduce((s, v) => s + (v === 25 ? 1 : 0), 0);
    expect(inkCount(layer.bitmap)).toBeLessThan(ringArea);
    expect(inkCount(layer.bitmap)).toBeGreaterThan(ringArea - 60);
    expect(stencil.notices).toEqual([]);
  });

  it('takes RGBA and composites transparency over white', () => {
    const rgba = new Uint8ClampedArray(64 * 64 * 4); // fully transparent black
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) if (disc(32, 32, 12)(x, y)) rgba.set([0, 0, 0, 255], (y * 64 + x) * 4);
    }
    const stencil = makeStencil({ width: 64, height: 64, data: rgba });
    expect(Math.abs(inkCount(stencil.layers[0].bitmap) - Math.PI * 144)).toBeLessThan(30);
  });

  it('can leave islands unbridged, still reporting them', () => {
    const stencil = makeStencil(noisyO(), { bridges: false });
    expect(stencil.layers[0].islands).toHaveLength(1);
    expect(stencil.layers[0].bridges).toHaveLength(0);
    expect(whiteRegions(stencil.layers[0].bitmap)).toBe(2);
  });

  it('renders the PNG export at a chosen size and a preview marking islands and bridges', () => {
    const stencil = makeStencil(noisyO());
    const big = renderStencil(stencil, { width: 240 });
    expect([big.width, big.height]).toEqual([240, 240]);
    const values = new Set(big.data.filter((_, i) => i % 4 === 0));
    expect([...values].sort()).toEqual([0, 255]);
    const preview = renderPreview(stencil);
    const centre = (60 * 120 + 60) * 4;
    expect([...preview.data.slice(centre, centre + 3)]).toEqual([120, 180, 255]); // island blue
    const bridgePixel = stencil.layers[0].bridgeMask.indexOf(1);
    expect([...preview.data.slice(bridgePixel * 4, bridgePixel * 4 + 3)]).toEqual([255, 90, 40]);
  });
});

describe('bad input', () => {
  const expectInputError = (f: () => unknown, message: RegExp) => {
    expect(f).toThrow(StencilInputError);
    expect(f).toThrow(message);
  };

  it('says there is nothing to cut in an all-white or all-black image', () => {
    expectInputError(() => makeStencil(grayImage(64, 64, 255)), /nothing to cut.*flat tone/);
    expectInputError(() => makeStencil(grayImage(64, 64, 0)), /nothing to cut.*flat tone/);
    // Not flat, but nothing dark enough at a manual threshold / everything dark.
    const faint = paint(grayImage(64, 64, 250), 240, disc(32, 32, 10));
    expectInputError(() => makeStencil(faint, { threshold: 100 }), /nothing to cut.*all white at threshold 100/);
    expectInputError(() => makeStencil(faint, { threshold: 256 }), /nothing to cut.*all black/);
  });

  it('rejects a tiny image and wrongly sized pixel data', () => {
    expectInputError(() => makeStencil(grayImage(8, 40)), /8×40 px.*at least 16×16/);
    expectInputError(() => makeStencil({ width: 20, height: 20, data: new Uint8Array(100) }), /100 bytes.*400.*1600/);
  });

  it('downscales a huge image with a notice', () => {
    const img = paint(grayImage(3000, 1500), 0, disc(1500, 750, 400));
    const stencil = makeStencil(img);
    expect([stencil.width, stencil.height]).toEqual([2048, 1024]);
    expect(stencil.notices[0]).toMatch(/downscaled from 3000×1500 to 2048×1024/);
    expect(inkCount(stencil.layers[0].bitmap)).toBeGreaterThan(0);
  });

  it('rejects contradictory options', () => {
    expectInputError(() => makeStencil(noisyO(), { layers: 4 as 3 }), /layers must be 1, 2 or 3/);
    expectInputError(() => makeStencil(noisyO(), { threshold: 300 }), /threshold/);
    expectInputError(() => makeStencil(noisyO(), { layers: 2, adaptive: { radius: 10, offset: 5 } }), /one layer/);
  });
});
