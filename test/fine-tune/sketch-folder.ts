// Small sketch folders drawn by the tests: class folders of black strokes on white.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../src/data/image-codec';

/** Writes `perClass` images of each class (a filled disc or a bar at seeded positions) and returns the root. */
export function drawSketchFolder(classes: string[], perClass: number, size = 80): string {
  const root = mkdtempSync(join(tmpdir(), 'sketches-'));
  classes.forEach((name, c) => {
    mkdirSync(join(root, name));
    for (let k = 0; k < perClass; k++) {
      const data = new Uint8ClampedArray(size * size * 4).fill(255);
      const cx = size / 2 + ((k * 7) % 11) - 5;
      const cy = size / 2 + ((k * 5) % 9) - 4;
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const ink = c % 2 === 0 ? (x - cx) ** 2 + (y - cy) ** 2 < (size / 4) ** 2 : Math.abs(x - cx) < size / 10 && Math.abs(y - cy) < size / 3;
          if (ink) data.fill(0, (y * size + x) * 4, (y * size + x) * 4 + 3);
        }
      writeFileSync(join(root, name, `sketch_${k}.png`), encodePng({ width: size, height: size, data }));
    }
  });
  return root;
}
