// Minimal ASCII DXF (AutoCAD 2000, closed LWPOLYLINEs) for cutters that do not take SVG. Curves are
// flattened; units are millimetres when a physical width is given, else pixels. DXF's y axis points up.
import { flatten, type Shape } from './path-geometry';

export interface DxfLayer {
  name: string;
  shapes: Shape[];
}

export function toDxf(layers: DxfLayer[], size: { width: number; height: number; widthMm?: number }): string {
  const scale = size.widthMm !== undefined ? size.widthMm / size.width : 1;
  const out: string[] = ['0', 'SECTION', '2', 'HEADER', '9', '$ACADVER', '1', 'AC1015', '9', '$INSUNITS', '70', size.widthMm !== undefined ? '4' : '0', '0', 'ENDSEC'];
  out.push('0', 'SECTION', '2', 'ENTITIES');
  for (const layer of layers) {
    for (const shape of layer.shapes) {
      for (const contour of shape) {
        const pts = flatten(contour, 8);
        pts.pop(); // the closing point repeats the start; the polyline's closed flag joins them
        out.push('0', 'LWPOLYLINE', '8', layer.name, '90', String(pts.length), '70', '1');
        for (const p of pts) out.push('10', (p.x * scale).toFixed(3), '20', ((size.height - p.y) * scale).toFixed(3));
      }
    }
  }
  out.push('0', 'ENDSEC', '0', 'EOF', '');
  return out.join('\n');
}
