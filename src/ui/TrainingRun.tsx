// A training run from the page's side: start, pause/resume, stop; progress with it/s and ETA, the live
// loss chart and the checkpoints as they are stored.
import { useRef, useState } from 'react';
import type { DatasetSelection } from '../data/dataset-selection';
import type { EngineClient } from '../worker/engine-client';
import type { TrainParams, TrainProgress, TrainResult } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';
import { LossChart, type LossPoint } from './LossChart';

interface RunView {
  running: boolean;
  paused: boolean;
  step: number;
  totalSteps: number;
  secondsPerStep: number;
  losses: LossPoint[];
  checkpoints: { step: number; totalBytes: number }[];
  result?: TrainResult;
  error?: Error;
}

const IDLE: RunView = { running: false, paused: false, step: 0, totalSteps: 0, secondsPerStep: 0, losses: [], checkpoints: [] };

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
  }
}

export function TrainingRun({
  client,
  selection,
  config,
  blocked,
}: {
  client: EngineClient;
  selection: DatasetSelection;
  config: TrainParams['config'];
  /** Why a run cannot start now (no model, no images), or undefined. */
  blocked: string | undefined;
}) {
  const [run, setRun] = useState<RunView>(IDLE);
  const stop = useRef<AbortController | undefined>(undefined);

  const start = async () => {
    const abort = new AbortController();
    stop.current = abort;
    setRun({ ...IDLE, running: true });
    try {
      const result = await client.call('train', { selection, config }, { signal: abort.signal, onProgress: (_d, _t, _l, detail) => detail && setRun((r) => reduce(r, detail)) });
      setRun((r) => ({ ...r, running: false, paused: false, result }));
    } catch (e) {
      setRun((r) => ({ ...r, running: false, paused: false, error: e as Error }));
    }
  };
  const togglePause = () => void client.call('pauseTraining', { paused: !run.paused }).catch((e: Error) => setRun((r) => ({ ...r, error: e })));

  const fraction = run.totalSteps ? run.step / run.totalSteps : undefined;
  return (
    <div className="stack">
      <div className="row">
        <button type="button" onClick={start} disabled={run.running || blocked !== undefined}>
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
