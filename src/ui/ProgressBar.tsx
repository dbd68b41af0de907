// A labelled progress bar with the rate and an optional cancel button.
import type { Progress } from './use-task';

export function ProgressBar({ progress, unit, onCancel }: { progress: Progress | undefined; unit?: string; onCancel?: () => void }) {
  const fraction = progress && progress.total > 0 ? progress.done / progress.total : undefined;
  const text = progress
    ? `${progress.label ?? `${progress.done} of ${progress.total}`}${unit && progress.rate > 0 ? ` · ${progress.rate.toFixed(2)} ${unit}/s` : ''}`
    : 'Starting…';
  return (
    <div className="progress" data-testid="progress">
      <progress value={fraction} max={1} aria-label={text} />
      <span className="progress-text">{text}</span>
      {onCancel && (
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      )}
    </div>
  );
}
