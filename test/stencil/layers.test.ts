import { describe, expect, it } from 'vitest';
import { toneBands } from '../../src/stencil/layers';
import { makeStencil } from '../../src/stencil/stencil';
import { thresholdImage } from '../../src/stencil/threshold';
import { disc, grayImage, paint, ring, whiteRegions } from './draw';

function gradientWithShapes() {
  const img = grayImage(120, 90);
  for (let y = 0; y < 90; y++) for (let x = 0; x < 120; x++) img.data[y * 120 + x] = Math.round((255 * x) / 119);
  paint(img, 20, ring(30, 45, 8, 14));
  paint(img, 100, disc(75, 45, 12));
  return img;
}

describe('tone layers', () => {
  for (const count of [2, 3] as const) {
    it(`${count} layers are disjoint and their union is the image thresholded at the lightest bound`, () => {
      const img = gradientWithShapes();
      const bands = toneBands(img, count);
      expect(bands.map((b) => b.name)).toEqual(count === 2 ? ['dark', 'light'] : ['dark', 'mid', 'light']);
      for (let i = 1; i < count; i++) expect(bands[i].lower).toBe(bands[i - 1].upper);
      const union = thresholdImage(img, bands[count - 1].upper);
      for (let p = 0; p < img.data.length; p++) {
        const inkIn = bands.filter((b) => b.bitmap.data[p]).length;
        expect(inkIn).toBeLessThanOrEqual(1);
        expect(inkIn).toBe(union.data[p]);
      }
      for (const band of bands) expect(band.bitmap.data.some((v) => v === 1)).toBe(true);
    });
  }

  it('uses bounds given by hand', () => {
    const img = gradientWithShapes();
    const [dark, light] = toneBands(img, 2, [64, 160]);
    expect(dark.bitmap.data[45 * 120 + 30 + 11]).toBe(1); // the ring at gray 20
    expect(light.bitmap.data[45 * 120 + 75]).toBe(1); // the disc at gray 100
    expect(() => toneBands(img, 2, [160, 64])).toThrow(/ascending/);
  });

  it('bridges every layer on its own', () => {
    // A dark ring and a mid-gray ring: each layer has an island of its own.
    const img = paint(paint(grayImage(160, 80), 20, ring(40, 40, 12, 22)), 128, ring(120, 40, 12, 22));
    const stencil = makeStencil(img, { layers: 2, despeckle: 0 });
    expect(stencil.layers).toHaveLength(2);
    for (const layer of stencil.layers) {
      expect(layer.islands).toHaveLength(1);
      expect(layer.bridges.length).toBeGreaterThanOrEqual(1);
      expect(whiteRegions(layer.bitmap)).toBe(1);
    }
    const [dark, light] = stencil.layers;
    for (let p = 0; p < img.data.length; p++) expect(dark.bitmap.data[p] & light.bitmap.data[p]).toBe(0);
  });
});
