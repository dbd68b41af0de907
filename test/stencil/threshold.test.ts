import { describe, expect, it } from 'vitest';
import { adaptiveThreshold, histogram, otsuThreshold, otsuThresholds, thresholdImage } from '../../src/stencil/threshold';
import { grayImage, inkCount, normal, paint, random, rect } from './draw';

describe('threshold', () => {
  it('puts the Otsu threshold in the valley of a bimodal image', () => {
    const rand = random(1);
    const img = grayImage(128, 128);
    // 30% dark pixels around 55, the rest around 200, both with noise.
    for (let i = 0; i < img.data.length; i++) {
      const mean = rand() < 0.3 ? 55 : 200;
      img.data[i] = Math.max(0, Math.min(255, Math.round(mean + 12 * normal(rand))));
    }
    const t = otsuThreshold(img);
    expect(t).toBeGreaterThan(85); // 2.5 σ above the dark mode
    expect(t).toBeLessThan(170); // 2.5 σ below the light mode
    // In the valley: far fewer pixels at the threshold than at either peak.
    const hist = histogram(img);
    const window = (c: number) => hist.slice(c - 3, c + 4).reduce((s, v) => s + v, 0);
    expect(window(t)).toBeLessThan(0.05 * Math.min(window(55), window(200)));
    // Every dark-mode pixel is ink, nearly every light one is not.
    const bitmap = thresholdImage(img, t);
    expect(Math.abs(inkCount(bitmap) / img.data.length - 0.3)).toBeLessThan(0.01);
  });

  it('splits a three-tone image between its tones', () => {
    const img = paint(paint(grayImage(60, 60, 230), 30, rect(0, 0, 20, 60)), 120, rect(20, 0, 40, 60));
    const [a, b] = otsuThresholds(histogram(img), 2);
    expect(a).toBeGreaterThan(30);
    expect(a).toBeLessThanOrEqual(120);
    expect(b).toBeGreaterThan(120);
    expect(b).toBeLessThanOrEqual(230);
  });

  it('follows uneven lighting with the adaptive threshold where a global one fails', () => {
    // Lighting falls from 250 on the left to 60 on the right; dark marks are 50 below the local background.
    const img = grayImage(200, 100);
    const marks = (x: number, y: number) => x % 40 >= 15 && x % 40 < 25 && y >= 40 && y < 60;
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 200; x++) {
        const light = 250 - (190 * x) / 199;
        img.data[y * 200 + x] = Math.round(marks(x, y) ? light - 50 : light);
      }
    }
    let markPixels = 0;
    for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) if (marks(x, y)) markPixels++;
    const global = thresholdImage(img, otsuThreshold(img));
    expect(Math.abs(inkCount(global) - markPixels)).toBeGreaterThan(markPixels); // swallows the dark side
    const adaptive = adaptiveThreshold(img, { radius: 15, offset: 15 });
    let hits = 0;
    for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) if (marks(x, y) && adaptive.data[y * 200 + x]) hits++;
    expect(hits).toBeGreaterThan(0.95 * markPixels);
    expect(inkCount(adaptive) - hits).toBeLessThan(0.05 * markPixels);
  });
});
