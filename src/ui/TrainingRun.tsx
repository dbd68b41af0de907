// A training run from the page's side: start, pause/resume, stop, or resume a run a reload interrupted;
// progress with it/s and ETA, the live loss chart, the checkpoints as they are stored and the validation
// images as they are made, and what was changed to fit the GPU memory budget. When the GPU is reset under a
// run, the run resumes from its last checkpoint in the restarted engine, keeping its chart.
import { useEffect, useRef, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { ResumableRun, TrainParams, TrainProgress, TrainResult } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';
import { LossChart, type LossPoint } from './LossChart';
import { ValidationImages, type ValidationSet } from './ValidationImages';

/** A GPU reset under the run: the steps it had done, the checkpoint it resumes from (none: start again). */
interface GpuReset {
  after: number;
  from?: number;
  /** Waiting for the engine, model and dataset; resuming until the first step; resumed; or stopped before. */
  phase: 'waiting' | 'resuming' | 'resumed' | 'stopped';
}

interface RunView {
  /** True from the start until the run ends, through a GPU reset it resumes from. */
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
  runId?: string;
  /** The step the run can resume from: its newest checkpoint, or where a resumed run started. */
  checkpointStep?: number;
  /** What was changed so that the run fits the GPU memory budget. */
  memoryFit: string[];
  validating: boolean;
  reset?: GpuReset;
}

const IDLE: RunView = {
  running: false,
  paused: false,
  step: 0,
  totalSteps: 0,
  secondsPerStep: 0,
  losses: [],
  checkpoints: [],
  validations: [],
  memoryFit: [],
  validating: false,
};

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '—';
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(0)} s`;
}

function reduce(run: RunView, p: TrainProgress): RunView {
  switch (p.kind) {
    case 'started': {
      // The record's checkpoint can be newer than the page heard of (the reset came as it was stored).
      const reset = run.reset?.phase === 'resuming' ? { ...run.reset, from: p.step } : run.reset;
      const memoryFit = p.memoryFit.length > 0 ? p.memoryFit : run.memoryFit;
      // A run resumed after a reload charts from its first step, smoothed as the trainer smooths.
      let smoothed = NaN;
      const history = p.losses.map(({ step, loss }) => {
        smoothed = Number.isNaN(smoothed) ? loss : 0.9 * smoothed + 0.1 * loss;
        return { step, loss, smoothed };
      });
      const losses = run.losses.length > 0 ? run.losses : history;
      return { ...run, runId: p.runId, checkpointStep: p.step > 0 ? p.step : run.checkpointStep, memoryFit, reset, losses };
    }
    case 'step': {
      const r = p.report;
      // Seconds per step, smoothed so one slow step (a checkpoint write) does not swing the ETA.
      const secondsPerStep = run.secondsPerStep ? 0.8 * run.secondsPerStep + 0.2 * r.seconds : r.seconds;
      const reset = run.reset?.phase === 'resuming' ? { ...run.reset, phase: 'resumed' as const } : run.reset;
      const losses = [...run.losses, { step: r.step, loss: r.loss, smoothed: r.smoothedLoss }];
      return { ...run, step: r.step, totalSteps: r.totalSteps, secondsPerStep, losses, validating: false, reset };
    }
    case 'checkpoint':
      return { ...run, checkpointStep: p.step, checkpoints: [...run.checkpoints, { step: p.step, totalBytes: p.totalBytes }] };
    case 'paused':
      return { ...run, paused: p.paused };
    case 'validating':
      return { ...run, validating: true };
    case 'validation':
      return { ...run, validating: false, validations: [{ step: p.step, images: p.images }, ...run.validations] };
  }
}

/** The run as it was at its checkpoint, resuming: later steps come again and are charted again. */
function resumingFrom(run: RunView, from: number): RunView {
  return {
    ...run,
    step: from,
    losses: run.losses.filter((p) => p.step <= from),
    validations: run.validations.filter((v) => v.step <= from),
    reset: run.reset && { ...run.reset, phase: 'resuming' },
  };
}

function resetLine(r: GpuReset): string {
  const at = r.after > 0 ? `after step ${r.after}` : 'during the first step';
  if (r.from === undefined) return `GPU reset ${at}, before the run's first checkpoint: there is nothing to resume from.`;
  switch (r.phase) {
    case 'waiting':
    case 'resuming':
      return `GPU reset: resuming from the checkpoint at step ${r.from}…`;
    case 'resumed':
      return `GPU reset ${at}: resumed from the checkpoint at step ${r.from}.`;
    case 'stopped':
      return `GPU reset ${at}: stopped before resuming; the run can be resumed from its checkpoint at step ${r.from}.`;
  }
}

function MemoryFit({ messages }: { messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <div className="notice" data-testid="memory-fit">
      <p>
        <strong>Changed to fit the GPU memory budget</strong> (the run's record keeps these settings):
      </p>
      <ul className="run-log">
        {messages.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </div>
  );
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
  restarts,
  restored,
}: {
  client: EngineClient;
  newRun: TrainParams;
  /** Why a run cannot start now (no model, no images), or undefined. */
  blocked: string | undefined;
  resumable: ResumableRun[];
  /** After a run ends (the resumable list changes). */
  onEnded: () => void;
  /** Engine restarts so far: each follows a lost GPU device. */
  restarts: number;
  /** The current engine is ready and has the model loaded and the dataset folder opened again. */
  restored: boolean;
}) {
  const [run, setRun] = useState<RunView>(IDLE);
  const stop = useRef<AbortController | undefined>(undefined);
  /** The run in flight's parameters, for starting it again after a reset that left no checkpoint. */
  const lastParams = useRef<TrainParams>(newRun);
  /** The engine (by restart count) the run in flight was started on. */
  const startedOn = useRef(restarts);

  const start = async (params: TrainParams, view: RunView = { ...IDLE, running: true }) => {
    const abort = new AbortController();
    stop.current = abort;
    lastParams.current = params;
    startedOn.current = restarts;
    setRun(view);
    try {
      const result = await client.call('train', params, { signal: abort.signal, onProgress: (_d, _t, _l, detail) => detail && setRun((r) => reduce(r, detail)) });
      setRun((r) => ({ ...r, running: false, paused: false, validating: false, result }));
    } catch (e) {
      if ((e as Error).name === 'DeviceLostError' && !abort.signal.aborted) {
        // The engine restarts by itself; with a checkpoint the run stays running and resumes there (below).
        setRun((r) => ({ ...r, running: r.checkpointStep !== undefined, paused: false, validating: false, reset: { after: r.step, from: r.checkpointStep, phase: 'waiting' } }));
        return;
      }
      // A resume that failed says why; a reset the run got past stays in its log.
      setRun((r) => ({ ...r, running: false, paused: false, validating: false, error: e as Error, reset: r.reset?.phase === 'resumed' ? r.reset : undefined }));
    }
    onEnded();
  };

  // After a GPU reset the run resumes from its checkpoint once the new engine has the model and the dataset.
  useEffect(() => {
    const { reset, runId } = run;
    if (reset?.phase !== 'waiting' || reset.from === undefined || runId === undefined || !restored || restarts === startedOn.current) return;
    void start({ kind: 'resume', runId }, resumingFrom(run, reset.from));
    // Fires when the reset or the engine changes; start (with the new client) and run are this render's.
  }, [run.reset, restored, restarts]);

  const togglePause = () => void client.call('pauseTraining', { paused: !run.paused }).catch((e: Error) => setRun((r) => ({ ...r, error: e })));
  const stopRun = () => {
    if (run.reset?.phase !== 'waiting') return stop.current?.abort();
    // Nothing runs yet: the run stays as its checkpoint left it, offered for resuming.
    setRun((r) => ({ ...r, running: false, reset: r.reset && { ...r.reset, phase: 'stopped' } }));
    onEnded();
  };

  const recovering = run.reset?.phase === 'waiting' || run.reset?.phase === 'resuming';
  const fraction = run.totalSteps ? run.step / run.totalSteps : undefined;
  return (
    <div className="stack">
      <div className="row">
        <button type="button" onClick={() => start(newRun)} disabled={run.running || blocked !== undefined}>
          Start training
        </button>
        <button type="button" className="secondary" onClick={togglePause} disabled={!run.running || run.step === 0 || recovering}>
          {run.paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" className="secondary" onClick={stopRun} disabled={!run.running}>
          Stop
        </button>
        {blocked && !run.running && <span className="hint">{blocked}</span>}
      </div>
      <ResumableRuns
        runs={resumable.filter((r) => !(run.running && r.id === run.runId))}
        disabled={run.running}
        onResume={(runId) => start({ kind: 'resume', runId })}
      />
      <MemoryFit messages={run.memoryFit} />
      {run.reset && (
        <div className={`notice${run.reset.from === undefined ? ' error' : ''}`} data-testid="train-reset" role="status">
          <p>
            {resetLine(run.reset)}
            {run.reset.phase === 'waiting' && run.reset.from !== undefined && !restored && (
              <span className="hint"> The engine restarts and loads the model and the dataset folder again first.</span>
            )}
          </p>
          {run.reset.from === undefined && (
            <button type="button" onClick={() => start(lastParams.current)} disabled={run.running || !restored || blocked !== undefined}>
              Start again
            </button>
          )}
        </div>
      )}
      {(run.running || run.step > 0) && (
        <>
          <div className="progress" data-testid="train-progress">
            <progress value={fraction} max={1} aria-label="Training progress" />
            <span className="progress-text">
              {run.totalSteps ? `step ${run.step} of ${run.totalSteps}` : 'preparing (captions, first step)…'}
              {run.secondsPerStep > 0 && !recovering && ` · ${(1 / run.secondsPerStep).toFixed(2)} it/s · ETA ${eta((run.totalSteps - run.step) * run.secondsPerStep)}`}
              {run.paused && ' · paused'}
              {run.validating && ' · making validation images…'}
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
            : `Finished: ${run.result.step} step${run.result.step === 1 ? '' : 's'}.`}
        </p>
      )}
      <ErrorNotice error={run.error} context="Training" />
    </div>
  );
}
