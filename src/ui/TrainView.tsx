// The Train view: a dataset folder (drop, picker or file dialog) scanned in the worker, its report and
// subset, the run's settings and estimate (the worker plans its memory on the loaded model), and the run
// itself with its loss chart, checkpoints and validation images. After an engine restart (a lost GPU device)
// it opens the same folder and subset in the new worker, and a run lost with the device resumes there.
import { useCallback, useEffect, useRef, useState } from 'react';
import { DEFAULT_CAPTION_TEMPLATE, type DatasetSelection } from '../data/dataset-selection';
import type { EngineClient } from '../worker/engine-client';
import type { DatasetReport, FolderSource, ModelInfo, ResumableRun } from '../worker/messages';
import { DatasetReportView } from './DatasetReportView';
import { ErrorNotice } from './ErrorNotice';
import { FolderPicker } from './FolderPicker';
import { NeedsGpu } from './NoGpuBanner';
import { ProgressBar } from './ProgressBar';
import { planParamsOf, REFERENCE_RECIPE, TrainingSettingsForm, trainConfigOf, type PlanState } from './TrainingSettingsForm';
import { TrainingRun } from './TrainingRun';
import type { GpuState } from './use-engine';
import { useSetting } from './use-setting';
import { useTask } from './use-task';

export function TrainView({
  client,
  gpu,
  model,
  restarts,
}: {
  client: EngineClient;
  gpu: GpuState;
  model: ModelInfo | undefined;
  /** Engine restarts so far: each one opens the dataset folder again. */
  restarts: number;
}) {
  const scan = useTask<DatasetReport>();
  const [report, setReport] = useState<DatasetReport>();
  const [selection, setSelection] = useState<DatasetSelection>({});
  const [selectionError, setSelectionError] = useState<Error>();
  /** The folder scanned last and the subset chosen, for opening them again in a restarted engine. */
  const folder = useRef<FolderSource>(undefined);
  const chosen = useRef(selection);
  chosen.current = selection;
  /** The engine (by restart count) that has the folder opened. */
  const [openedOn, setOpenedOn] = useState(0);
  const [settings, setSettings] = useSetting('training', REFERENCE_RECIPE);
  const [resumable, setResumable] = useState<ResumableRun[]>([]);
  const [runsError, setRunsError] = useState<Error>();
  // Runs a reload or a closed tab interrupted are offered for resuming as soon as the view opens.
  const refreshRuns = useCallback(() => client.call('resumableRuns', {}).then(setResumable, setRunsError), [client]);
  useEffect(() => {
    void refreshRuns();
  }, [refreshRuns]);

  // The plan is kept with the settings it was made for, so it never shows beside newer settings; an
  // answer to superseded settings is dropped.
  const planKey = JSON.stringify(planParamsOf(settings));
  const [planned, setPlanned] = useState<{ key: string; state: PlanState }>();
  useEffect(() => {
    if (!model) return;
    let current = true;
    const keep = (state: PlanState) => current && setPlanned({ key: planKey, state });
    client.call('trainingPlan', JSON.parse(planKey) as ReturnType<typeof planParamsOf>).then(
      (plan) => keep({ plan }),
      (e: Error) => keep({ error: e.message }),
    );
    return () => {
      current = false;
    };
  }, [client, model, planKey]);

  const open = async (source: FolderSource) => {
    const r = await scan.run((o) => client.call('scanDataset', { source }, o));
    if (!r) return;
    folder.current = source;
    setOpenedOn(restarts);
    setSelection({});
    setReport(r);
  };
  // The page still has the folder: a restarted engine scans it again and gets the same subset.
  useEffect(() => {
    const source = folder.current;
    if (restarts === 0 || !source) return;
    void (async () => {
      if (!(await scan.run((o) => client.call('scanDataset', { source }, o)))) return;
      try {
        setReport(await client.call('selectDataset', { selection: chosen.current }));
        setOpenedOn(restarts);
      } catch (e) {
        setSelectionError(e as Error);
      }
    })();
    // A new client comes with each restart.
  }, [client]);
  const restored = gpu.status === 'ready' && model !== undefined && openedOn === restarts;
  const select = (next: DatasetSelection) => {
    setSelection(next);
    client.call('selectDataset', { selection: next }).then((r) => {
      setReport(r);
      setSelectionError(undefined);
    }, setSelectionError);
  };

  const blocked = !model
    ? 'Load a model first (Model view).'
    : !report || report.selected === 0
      ? 'Open a dataset folder with images first.'
      : openedOn !== restarts
        ? 'Opening the dataset folder again in the restarted engine…'
        : undefined;

  return (
    <div className="columns">
      <div className="stack">
        <section className="panel" aria-labelledby="dataset-heading">
          <h2 id="dataset-heading">Dataset</h2>
          <FolderPicker
            name="dataset folder"
            hint="Sketches in class folders (ImageNet-Sketch synsets or names), images with .txt captions, or metadata.jsonl."
            disabled={scan.running}
            onFolder={open}
          />
          {scan.running && <ProgressBar progress={scan.progress} onCancel={scan.cancel} />}
          <ErrorNotice error={scan.error} context="Scanning the folder" />
        </section>
        {report && <DatasetReportView key={report.source + report.images} report={report} selection={selection} onSelection={select} />}
        <ErrorNotice error={selectionError} context="Choosing the subset" />
        <ErrorNotice error={runsError} context="Listing the runs to resume" />
      </div>
      <div className="stack">
        {/* Through an engine restart the run panel stays: a run lost with the GPU waits there and resumes. */}
        {gpu.status === 'unavailable' || (gpu.status === 'starting' && restarts === 0) ? (
          <NeedsGpu gpu={gpu} what="Training">
            {null}
          </NeedsGpu>
        ) : (
          <section className="panel" aria-labelledby="run-heading">
            <h2 id="run-heading">Run</h2>
            <TrainingSettingsForm
              t={settings}
              onChange={setSettings}
              images={report?.selected ?? 0}
              model={model}
              plan={model && planned?.key === planKey ? planned.state : undefined}
            />
            <button type="button" className="secondary" onClick={() => setSettings(REFERENCE_RECIPE)}>
              Reset to the reference recipe
            </button>
            <TrainingRun
              client={client}
              newRun={{ kind: 'new', selection, config: trainConfigOf(settings, selection.captionTemplate ?? DEFAULT_CAPTION_TEMPLATE) }}
              blocked={blocked}
              resumable={resumable}
              onEnded={refreshRuns}
              restarts={restarts}
              restored={restored}
            />
          </section>
        )}
      </div>
    </div>
  );
}
