// An SVG reader for the tests, written separately from the module's writer: checks well-formed tags,
// collects elements, and measures the filled area of path data (curves flattened, signed areas summed).

export interface Element {
  name: string;
  attrs: Record<string, string>;
}

/** Parses the XML markup; throws on unbalanced or malformed tags. Returns every element in order. */
export function parseSvg(text: string): Element[] {
  const elements: Element[] = [];
  const open: string[] = [];
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = tag.exec(body)) !== null) {
    consumed = tag.lastIndex;
    if (m[5] !== undefined) {
      if (m[5].trim() !== '') throw new Error(`stray text '${m[5].trim().slice(0, 20)}'`);
      continue;
    }
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (open.pop() !== name) throw new Error(`unbalanced </${name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    elements.push({ name, attrs });
    if (!selfClosing) open.push(name);
  }
  if (consumed !== body.length) throw new Error(`unparsable markup at offset ${consumed}`);
  if (open.length) throw new Error(`unclosed <${open.join('>, <')}>`);
  return elements;
}

/** Sum of signed subpath areas of path data (M L H V C Z, absolute and relative), curves as 32 chords. */
export function pathArea(d: string): number {
  const tokens = d.match(/[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/g) ?? [];
  let i = 0;
  const num = () => Number(tokens[i++]);
  let x = 0;
  let y = 0;
  let sx = 0;
  let sy = 0;
  let poly: [number, number][] = [];
  let total = 0;
  const closePoly = () => {
    let a = 0;
    for (let k = 0; k < poly.length; k++) {
      const [x1, y1] = poly[k];
      const [x2, y2] = poly[(k + 1) % poly.length];
      a += x1 * y2 - x2 * y1;
    }
    total += a / 2;
    poly = [];
  };
  let cmd = '';
  while (i < tokens.length) {
    if (/[A-Za-z]/.test(tokens[i])) cmd = tokens[i++];
    const rel = cmd === cmd.toLowerCase();
    const ox = rel ? x : 0;
    const oy = rel ? y : 0;
    switch (cmd.toUpperCase()) {
      case 'M':
        if (poly.length) closePoly();
        x = sx = ox + num();
        y = sy = oy + num();
        poly.push([x, y]);
        cmd = rel ? 'l' : 'L';
        break;
      case 'L':
        x = ox + num();
        y = oy + num();
        poly.push([x, y]);
        break;
      case 'C': {
        const [x1, y1, x2, y2, x3, y3] = [ox + num(), oy + num(), ox + num(), oy + num(), ox + num(), oy + num()];
        for (let k = 1; k <= 32; k++) {
          const t = k / 32;
          const u = 1 - t;
          poly.push([
            u * u * u * x + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x3,
            u * u * u * y + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y3,
          ]);
        }
        x = x3;
        y = y3;
        break;
      }
      case 'Z':
        closePoly();
        x = sx;
        y = sy;
        cmd = '';
        break;
      default:
        throw new Error(`unsupported path command ${cmd}`);
    }
  }
  if (poly.length) closePoly();
  return total;
}
