// The typed messages between the page and the engine worker: requests with an id, answered by one
// result or error, with progress events in between; cancellation by id.
import type { DatasetLayout, SkippedFile } from '../data/dataset-entry';
import type { DatasetSelection } from '../data/dataset-selection';
import type { EngineInfo, Precision } from '../engine/engine';
import type { StencilOptions, TraceOptions } from '../stencil';
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
  /** Where its config came from and which weight files were read. */
  detail: string;
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
  hasTokenizer: boolean;
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

/** Method name -> its parameters and result. */
export interface EngineMethods {
  start: { params: { precision: 'auto' | 'f16' | 'f32'; memoryBudgetBytes?: number }; result: EngineInfo };
  selfTest: { params: Record<string, never>; result: SelfTestResult };
  noise: { params: { seed: number; count: number }; result: Float32Array };
  setMemoryBudget: { params: { bytes: number }; result: void };
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
  | { kind: 'progress'; id: number; done: number; total: number; label?: string };

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
