// The training loss as it comes: raw per-step losses as dots, the smoothed loss as a line. Plain SVG
// (a charting package such as uPlot can replace it when the lead adds one).
export interface LossPoint {
  step: number;
  loss: number;
  smoothed: number;
}

const W = 560;
const H = 200;
const PAD = { left: 52, right: 12, top: 10, bottom: 26 };

export function LossChart({ points, totalSteps }: { points: LossPoint[]; totalSteps: number }) {
  const finite = points.filter((p) => Number.isFinite(p.loss));
  const values = finite.flatMap((p) => [p.loss, p.smoothed]).filter(Number.isFinite);
  const lo = Math.min(...values, Infinity);
  const hi = Math.max(...values, -Infinity);
  const span = hi > lo ? hi - lo : Math.abs(hi) || 1;
  const x = (step: number) => PAD.left + ((W - PAD.left - PAD.right) * step) / Math.max(1, totalSteps);
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - (v - (lo - span * 0.05)) / (span * 1.1));
  const line = finite
    .filter((p) => Number.isFinite(p.smoothed))
    .map((p, i) => `${i ? 'L' : 'M'}${x(p.step).toFixed(1)},${y(p.smoothed).toFixed(1)}`)
    .join('');
  const last = finite.at(-1);
  return (
    <figure className="loss-chart" data-testid="loss-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={last ? `Loss chart: ${finite.length} steps, last loss ${last.loss.toFixed(4)}` : 'Loss chart: no steps yet'}>
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} className="axis" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} className="axis" />
        {values.length > 0 && (
          <>
            <text x={PAD.left - 6} y={y(hi) + 4} textAnchor="end">
              {hi.toPrecision(3)}
            </text>
            <text x={PAD.left - 6} y={y(lo) + 4} textAnchor="end">
              {lo.toPrecision(3)}
            </text>
          </>
        )}
        <text x={W - PAD.right} y={H - 6} textAnchor="end">
          step {totalSteps}
        </text>
        <text x={PAD.left} y={H - 6}>
          0
        </text>
        {finite.map((p) => (
          <circle key={p.step} cx={x(p.step)} cy={y(p.loss)} r={2.5} className="raw" />
        ))}
        <path d={line} className="smoothed" />
      </svg>
      <figcaption>
        {last ? `Loss ${last.loss.toFixed(4)} (smoothed ${last.smoothed.toFixed(4)}) at step ${last.step}` : 'The loss appears after the first step.'}
      </figcaption>
    </figure>
  );
}
