// RGBA pixels on a canvas, scaled by CSS with crisp (nearest) edges.
import { useEffect, useRef } from 'react';

export function RgbaCanvas({ width, height, data, label }: { width: number; height: number; data: Uint8ClampedArray; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (ctx) ctx.putImageData(new ImageData(new Uint8ClampedArray(data), width, height), 0, 0);
  }, [width, height, data]);
  return <canvas ref={canvas} className="pixels" width={width} height={height} role="img" aria-label={label} />;
}
