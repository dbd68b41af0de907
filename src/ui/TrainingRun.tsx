// A training run from the page's side: start, pause/resume, stop, or resume a run a reload interrupted;
// progress with it/s and ETA, the live loss chart, the checkpoints as they are stored and the validation
// images as they are made.
import { useRef, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { ResumableRun, TrainParams, TrainProgress, TrainResult } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';
import { LossChart, type LossPoint } from './LossChart';
import { ValidationImages, type ValidationSet } from './ValidationImages';

interface RunView {
  running: boolean;
  paused: boolean;
  step: number;
  totalSteps: number;
  secondsPerStep: number;
  losses: LossPoint[];
  checkpoints: { step: number; totalBytes: number }[];
  /** Newest first. */
  validations: ValidationSet[];
  result?: TrainResult;
  error?: Error;
}

const IDLE: RunView = { running: false, paused: false, step: 0, totalSteps: 0, secondsPerStep: 0, losses: [], checkpoints: [], validations: [] };

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '—';
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(0)} s`;
}

function reduce(run: RunView, p: TrainProgress): RunView {
  switch (p.kind) {
    case 'step': {
      const r = p.report;
      // Seconds per step, smoothed so one slow step (a checkpoint write) does not swing the ETA.
      const secondsPerStep = run.secondsPerStep ? 0.8 * run.secondsPerStep + 0.2 * r.seconds : r.seconds;
      return { ...run, step: r.step, totalSteps: r.totalSteps, secondsPerStep, losses: [...run.losses, { step: r.step, loss: r.loss, smoothed: r.smoothedLoss }] };
    }
    case 'checkpoint':
      return { ...run, checkpoints: [...run.checkpoints, { step: p.step, totalBytes: p.totalBytes }] };
    case 'paused':
      return { ...run, paused: p.paused };
    case 'validation':
      return { ...run, validations: [{ step: p.step, images: p.images }, ...run.validations] };
  }
}

function ResumableRuns({ runs, disabled, onResume }: { runs: ResumableRun[]; disabled: boolean; onResume: (id: string) => void }) {
  if (runs.length === 0) return null;
  return (
    <div className="notice" data-testid="resumable-runs">
      <p>
        <strong>Runs to resume</strong> (load the same model and open the same folder first):
      </p>
      <ul className="run-log">
        {runs.map((r) => (
          <li key={r.id}>
            {r.status === 'paused' ? 'Stopped' : 'Interrupted'} at step {r.step}
            {r.steps ? ` of ${r.steps}` : ''} · {r.mode === 'full' ? 'full UNet' : 'LoRA'} · {r.model} on {r.dataset} ·{' '}
            {new Date(r.updatedAt).toLocaleString()}{' '}
            <button type="button" className="secondary" disabled={disabled} onClick={() => onResume(r.id)}>
              Resume run
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function TrainingRun({
  client,
  newRun,
  blocked,
  resumable,
  onEnded,
}: {
  client: EngineClient;
  newRun: TrainParams;
  /** Why a run cannot start now (no model, no images), or undefined. */
  blocked: string | undefined;
  resumable: ResumableRun[];
  /** After a run ends (the resumable list changes). */
  onEnded: () => void;
}) {
  const [run, setRun] = useState<RunView>(IDLE);
  const stop = useRef<AbortController | undefined>(undefined);

  const start = async (params: TrainParams) => {
    const abort = new AbortController();
    stop.current = abort;
    setRun({ ...IDLE, running: true });
    try {
      const result = await client.call('train', params, { signal: abort.signal, onProgress: (_d, _t, _l, detail) => detail && setRun((r) => reduce(r, detail)) });
      setRun((r) => ({ ...r, running: false, paused: false, result }));
    } catch (e) {
      setRun((r) => ({ ...r, running: false, paused: false, error: e as Error }));
    }
    onEnded();
  };
  const togglePause = () => void client.call('pauseTraining', { paused: !run.paused }).catch((e: Error) => setRun((r) => ({ ...r, error: e })));

  const fraction = run.totalSteps ? run.step / run.totalSteps : undefined;
  return (
    <div className="stack">
      <div className="row">
        <button type="button" onClick={() => start(newRun)} disabled={run.running || blocked !== undefined}>
          Start training
        </button>
        <button type="button" className="secondary" onClick={togglePause} disabled={!run.running || run.step === 0}>
          {run.paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" className="secondary" onClick={() => stop.current?.abort()} disabled={!run.running}>
          Stop
        </button>
        {blocked && !run.running && <span className="hint">{blocked}</span>}
      </div>
      <ResumableRuns runs={resumable} disabled={run.running} onResume={(runId) => start({ kind: 'resume', runId })} />
      {(run.running || run.step > 0) && (
        <>
          <div className="progress" data-testid="train-progress">
            <progress value={fraction} max={1} aria-label="Training progress" />
            <span className="progress-text">
              {run.totalSteps ? `step ${run.step} of ${run.totalSteps}` : 'preparing (captions, first step)…'}
              {run.secondsPerStep > 0 && ` · ${(1 / run.secondsPerStep).toFixed(2)} it/s · ETA ${eta((run.totalSteps - run.step) * run.secondsPerStep)}`}
              {run.paused && ' · paused'}
            </span>
          </div>
          <LossChart points={run.losses} totalSteps={run.totalSteps} />
          {run.checkpoints.length > 0 && (
            <ul className="run-log" data-testid="run-checkpoints">
              {run.checkpoints.map((c) => (
                <li key={c.step}>
                  Checkpoint at step {c.step} stored ({formatBytes(c.totalBytes)}): see the Checkpoints view.
                </li>
              ))}
            </ul>
          )}
          <ValidationImages sets={run.validations} />
        </>
      )}
      {run.result && (
        <p className="notice" data-testid="train-result">
          {run.result.stopped
            ? `Stopped at step ${run.result.step} of ${run.result.totalSteps}; the last checkpoint keeps the run's state.`
            : `Finished: ${run.result.step} steps.`}
        </p>
      )}
      <ErrorNotice error={run.error} context="Training" />
    </div>
  );
}
