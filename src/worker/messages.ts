// The typed messages between the page and the engine worker: requests with an id, answered by one
// result or error, with progress events in between; cancellation by id.
import type { DatasetLayout, SkippedFile } from '../data/dataset-entry';
import type { DatasetSelection } from '../data/dataset-selection';
import type { EngineInfo, Precision } from '../engine/engine';
import type { StencilOptions, TraceOptions } from '../stencil';
import type { TrainConfig } from '../pipelines/fine-tune/train-config';
import type { TrainingPlan } from '../pipelines/fine-tune/training-plan';
import type { StepReport } from '../pipelines/fine-tune/trainer';
import type { NoiseGeneratorKind } from '../pipelines/initial-noise';
import type { PromptStyle } from '../pipelines/prompt-style';
import type { SchedulerKind } from '../schedulers';
import type { CheckpointSummary } from '../storage/checkpoint-format';
import type { PredictionType } from '../weights/single-file';

export interface SelfTestResult {
  /** Largest |GPU − CPU| of the f16-unpack kernel over random halves (exact: 0). */
  kernelMaxError: number;
  /** Largest relative error of a tfjs matmul against a float64 CPU product. */
  matmulRelError: number;
  ms: number;
}

/** A folder as the page got it: a handle (picker, drop, OPFS) or the File list of <input webkitdirectory>. */
export type FolderSource = { kind: 'folder-handle'; handle: FileSystemDirectoryHandle } | { kind: 'folder-files'; files: File[] };

export type ModelSource =
  | FolderSource
  /** The built-in tiny SD 1.5-shaped model with seeded random weights, built in the worker. */
  | { kind: 'tiny-demo' }
  | { kind: 'single-file'; file: File; predictionType?: PredictionType }
  | { kind: 'hub'; repo: string; token?: string };

export interface ModelComponentInfo {
  name: string;
  parameters: number;
}

export interface ModelInfo {
  name: string;
  source: ModelSource['kind'];
  /** 'SD 1.x' (CLIP ViT-L text encoder) or 'SD 2.x' (OpenCLIP), judged by the text encoder. */
  family: string;
  predictionType: string;
  scheduler: string;
  precision: Precision;
  components: ModelComponentInfo[];
  /** GPU bytes the weights took. */
  weightBytes: number;
  /** From the weights' metadata: a fine-tuned checkpoint gets the sketch prompt style by default. */
  fineTuned: boolean;
  captionTemplate?: string;
  /** The image side the model was trained at (512 for SD 1.5). */
  sampleSize: number;
  notices: string[];
}

export interface HubRepoInfo {
  repo: string;
  /** SPDX-like licence id from the model card, or 'unknown'. */
  license: string;
  gated: boolean;
  /** The files a load would download (fp16 weights where the repo has them). */
  files: { path: string; size: number }[];
  totalBytes: number;
}

export interface StorageInfo {
  usage: number;
  quota: number;
  /** Bytes of downloaded model files in the Origin Private File System. */
  cachedModelBytes: number;
}

export interface OpenedImage {
  id: number;
  name: string;
  width: number;
  height: number;
}

export interface StencilLayerSummary {
  name: string;
  lower: number;
  upper: number;
  islands: number;
  bridges: number;
  deletedIslands: number;
}

export interface StencilPreview {
  width: number;
  height: number;
  /** RGBA: ink black, sheet white, islands blue, bridges orange (the chosen layer). */
  preview: Uint8ClampedArray;
  /** RGBA: every layer composited in gray shades, as cut. */
  composite: Uint8ClampedArray;
  layers: StencilLayerSummary[];
  notices: string[];
}

export interface StencilExportParams {
  imageId: number;
  options: Partial<StencilOptions>;
  format: 'svg' | 'png' | 'dxf';
  /** Physical width (SVG, DXF). */
  widthMm?: number;
  /** PNG width in pixels. */
  pngWidth?: number;
  trace?: Partial<TraceOptions>;
}

export interface StencilExport {
  data: Uint8Array;
  mime: string;
  notices: string[];
}

export interface DatasetClassReport {
  id: string;
  name: string;
  available: number;
  selected: number;
  caption: string;
  thumbnails: { path: string; blob: Blob }[];
}

export interface DatasetReport {
  source: string;
  layout: DatasetLayout;
  images: number;
  selected: number;
  classes: DatasetClassReport[];
  skipped: SkippedFile[];
}

export type TrainParams =
  | {
      kind: 'new';
      /** The subset of the opened dataset folder to train on. */
      selection: DatasetSelection;
      /** Changes to the reference recipe (defaultTrainConfig of the mode). */
      config: Partial<TrainConfig> & { mode: TrainConfig['mode'] };
    }
  /** Continue a paused or interrupted run exactly from its newest checkpoint. */
  | { kind: 'resume'; runId: string };

/** A run that can be resumed, and what it needs loaded first. */
export interface ResumableRun {
  id: string;
  status: 'paused' | 'interrupted';
  updatedAt: string;
  step: number;
  /** Steps asked for, when the run was given a number (else the epochs decide). */
  steps?: number;
  mode: TrainConfig['mode'];
  model: string;
  dataset: string;
}

export interface TrainResult {
  runId: string;
  step: number;
  totalSteps: number;
  /** True when the page stopped the run before its last step (it can be resumed from its checkpoint). */
  stopped: boolean;
}

/** What a training run reports as it goes: each optimizer step, and each checkpoint once it is stored. */
export type TrainProgress =
  /**
   * First, once the run is recorded: the step it starts from (a resumed run's checkpoint, else 0) and what a
   * new run's settings were changed to fit the GPU memory budget (empty when they fit as asked).
   */
  /** `losses`: a resumed run's losses up to its checkpoint, so its chart shows the whole run. */
  | { kind: 'started'; runId: string; step: number; memoryFit: string[]; losses: { step: number; loss: number }[] }
  | { kind: 'step'; runId: string; report: StepReport }
  | { kind: 'checkpoint'; runId: string; step: number; totalBytes: number }
  | { kind: 'paused'; runId: string; paused: boolean }
  /** Validation images are being made after this step (at full size they take a while). */
  | { kind: 'validating'; runId: string; step: number }
  /** Validation images after a step: the same prompts and seed every time. */
  | { kind: 'validation'; runId: string; step: number; images: { prompt: string; png: Uint8Array }[] };

export interface GenerateParams {
  prompt: string;
  /** Undefined: the prompt style's own negative. */
  negative?: string;
  style: PromptStyle | 'auto';
  /** Undefined: the model's own scheduler. */
  scheduler?: SchedulerKind;
  karras?: boolean;
  steps: number;
  guidance: number;
  /** Undefined: a random seed (reported back). */
  seed?: number;
  rng: NoiseGeneratorKind;
  width: number;
  height: number;
  images: number;
  /** img2img: an image opened with openImage, and the strength in (0, 1]. */
  initImageId?: number;
  strength?: number;
  loras: { file: File; scale: number }[];
  /** A stored checkpoint to generate with; undefined: the loaded model's own weights. */
  checkpointId?: string;
}

export interface GeneratedImage {
  width: number;
  height: number;
  /** PNG with the A1111 `parameters` text chunk. */
  png: Uint8Array;
}

export interface GenerateOutput {
  images: GeneratedImage[];
  /** The A1111 parameters text every image carries. */
  parameters: string;
  /** The prompt and negative actually used (after the prompt style). */
  prompt: string;
  negative: string;
  seed: number;
  /** The UNet weights used: 'base model' or the checkpoint's label. */
  weights: string;
  notes: string[];
  perStepMs: number;
}

export interface GenerateProgress {
  itPerSec: number;
  /** The first image's x0 prediction through the cheap latent-to-RGB map, at latent size. */
  preview?: { width: number; height: number; data: Uint8ClampedArray };
}

/** Methods whose progress events carry a structured detail. */
export interface EngineProgress {
  train: TrainProgress;
  generate: GenerateProgress;
}

export type ProgressDetail<M> = M extends keyof EngineProgress ? EngineProgress[M] : undefined;

export interface ExportedCheckpoint {
  /** Relative paths ('unet/config.json', 'lora.safetensors') and their bytes. */
  files: { path: string; data: Uint8Array }[];
}

/** Method name -> its parameters and result. */
export interface EngineMethods {
  start: { params: { precision: 'auto' | 'f16' | 'f32'; memoryBudgetBytes?: number }; result: EngineInfo };
  selfTest: { params: Record<string, never>; result: SelfTestResult };
  noise: { params: { seed: number; count: number }; result: Float32Array };
  setMemoryBudget: { params: { bytes: number }; result: void };
  /** Loses the GPU device as a driver reset would, to exercise the recovery. */
  simulateDeviceLoss: { params: Record<string, never>; result: void };
  loadModel: { params: { source: ModelSource }; result: ModelInfo };
  hubInfo: { params: { repo: string; token?: string }; result: HubRepoInfo };
  storageInfo: { params: Record<string, never>; result: StorageInfo };
  clearModelCache: { params: Record<string, never>; result: StorageInfo };
  openImage: { params: { file: Blob; name: string }; result: OpenedImage };
  stencil: { params: { imageId: number; options: Partial<StencilOptions>; layer: number }; result: StencilPreview };
  exportStencil: { params: StencilExportParams; result: StencilExport };
  scanDataset: { params: { source: FolderSource }; result: DatasetReport };
  selectDataset: { params: { selection: DatasetSelection }; result: DatasetReport };
  checkpoints: { params: Record<string, never>; result: CheckpointSummary[] };
  deleteCheckpoint: { params: { id: string }; result: CheckpointSummary[] };
  exportCheckpoint: { params: { id: string; dtype: 'f16' | 'f32' }; result: ExportedCheckpoint };
  train: { params: TrainParams; result: TrainResult };
  pauseTraining: { params: { paused: boolean }; result: void };
  resumableRuns: { params: Record<string, never>; result: ResumableRun[] };
  /** GPU memory and trainable parameters of a run with these settings on the loaded model. */
  trainingPlan: { params: Pick<TrainConfig, 'mode' | 'rank' | 'loraTargets' | 'resolution' | 'batch' | 'gradCheckpointing'>; result: TrainingPlan };
  generate: { params: GenerateParams; result: GenerateOutput };
}

export type MethodName = keyof EngineMethods;

export type WorkerRequest =
  | { kind: 'request'; id: number; method: MethodName; params: unknown }
  | { kind: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  message: string;
  /** For NoGpuError: what is missing (no-webgpu, no-adapter, device-failed); for HubError: its kind. */
  reason?: string;
}

export type WorkerEvent =
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'progress'; id: number; done: number; total: number; label?: string; detail?: unknown }
  /** Unasked: the GPU device is gone; the page restarts the worker (see use-engine.ts). */
  | { kind: 'device-lost'; error: SerializedError };

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const extra = e as Error & { reason?: unknown; kind?: unknown };
    const reason = typeof extra.reason === 'string' ? extra.reason : typeof extra.kind === 'string' ? extra.kind : undefined;
    return { name: e.name, message: e.message, ...(reason !== undefined ? { reason } : {}) };
  }
  return { name: 'Error', message: String(e) };
}
