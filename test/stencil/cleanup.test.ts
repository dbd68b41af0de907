import { describe, expect, it } from 'vitest';
import { fillBackground, fillPinholes, invert, removeSpecks } from '../../src/stencil/cleanup';
import { smoothEdges } from '../../src/stencil/smoothing';
import { changeThickness } from '../../src/stencil/thickness';
import { any, bitmapOf, disc, inkCount, rect } from './draw';

const at = (b: { width: number; data: Uint8Array }, x: number, y: number) => b.data[y * b.width + x];

describe('clean-up', () => {
  it('removes ink specks below the size and keeps shapes above it', () => {
    const b = bitmapOf(
      80,
      80,
      any(rect(5, 5, 8, 8) /* 9 px */, rect(20, 5, 23, 9) /* 12 px */, rect(40, 40, 44, 44) /* 16 px */, disc(60, 20, 6)),
    );
    const out = removeSpecks(b, 16);
    expect(at(out, 6, 6)).toBe(0);
    expect(at(out, 21, 6)).toBe(0);
    expect(at(out, 41, 41)).toBe(1);
    expect(at(out, 60, 20)).toBe(1);
    expect(inkCount(out)).toBe(inkCount(b) - 9 - 12);
    expect(inkCount(b)).toBe(inkCount(removeSpecks(b, 0))); // off leaves it alone
  });

  it('fills enclosed white pinholes below the size but not the sheet', () => {
    const b = bitmapOf(60, 60, (x, y) => rect(10, 10, 50, 50)(x, y) && !rect(20, 20, 22, 22)(x, y) && !rect(30, 30, 40, 40)(x, y));
    const out = fillPinholes(b, 16);
    expect(at(out, 20, 20)).toBe(1); // 4 px hole filled
    expect(at(out, 35, 35)).toBe(0); // 100 px hole kept
    expect(at(out, 2, 2)).toBe(0); // the sheet around stays
  });

  it('inverts and fills a dark background', () => {
    const b = bitmapOf(40, 40, (x, y) => !rect(5, 5, 35, 35)(x, y) || rect(15, 15, 25, 25)(x, y));
    expect(inkCount(invert(b))).toBe(1600 - inkCount(b));
    const filled = fillBackground(b);
    expect(at(filled, 0, 0)).toBe(0);
    expect(at(filled, 20, 20)).toBe(1); // the subject in the middle stays ink
    expect(inkCount(filled)).toBe(100);
  });

  it('smooths a one-pixel spur and ragged edge but keeps a large shape', () => {
    const b = bitmapOf(60, 60, (x, y) => rect(10, 10, 50, 50)(x, y) || (y === 30 && x >= 50 && x < 53) || (x === 20 && y === 9));
    const out = smoothEdges(b, 1);
    expect(at(out, 51, 30)).toBe(0);
    expect(at(out, 20, 9)).toBe(0);
    expect(at(out, 30, 30)).toBe(1);
    expect(at(out, 10, 30)).toBe(1); // straight edge stays put
    expect(at(out, 9, 30)).toBe(0);
  });

  it('grows and shrinks line thickness by the given pixels', () => {
    const line = bitmapOf(60, 60, rect(10, 26, 50, 34)); // 8 px thick
    const grown = changeThickness(line, 2);
    expect(at(grown, 30, 24)).toBe(1);
    expect(at(grown, 30, 35)).toBe(1);
    expect(at(grown, 30, 23)).toBe(0);
    const shrunk = changeThickness(line, -2);
    expect(at(shrunk, 30, 27)).toBe(0);
    expect(at(shrunk, 30, 28)).toBe(1);
    expect(at(shrunk, 30, 31)).toBe(1);
    expect(at(shrunk, 30, 32)).toBe(0);
  });
});
