// An error as the user needs it: what happened (the message) and what to do (by error kind).
const ADVICE: Record<string, string> = {
  ModelFolderError: 'Choose a diffusers model folder (model_index.json with unet/, vae/, text_encoder/ and tokenizer/) or a single-file .safetensors checkpoint.',
  WeightLoadError: 'The weights do not match the model config: re-download the model, or choose the folder it came from.',
  SafetensorsError: 'The file is damaged or not a safetensors file: download it again.',
  UnsupportedModelError: 'Only Stable Diffusion 1.x and 2.x (text-to-image) models are supported.',
  GpuOutOfMemoryError: 'Raise the GPU memory budget if your GPU has more memory, close other GPU-heavy tabs, or load a smaller model.',
  DeviceLostError: 'The engine restarts by itself and loads the model again: try again once the GPU shows ready. A training run resumes from its last checkpoint.',
  QuotaExceededError: 'Storage is full: clear cached models or delete checkpoints, then try again.',
  DatasetError: 'Choose a folder of PNG, JPEG or WebP images: class folders, ImageNet-Sketch synset folders, images with same-name .txt captions, or metadata.jsonl.',
  ImageDecodeError: 'Use a PNG, JPEG or WebP image.',
  UnsupportedImageError: 'Use a PNG, JPEG or WebP image.',
  StencilInputError: 'Adjust the settings above (threshold, invert) or use another image.',
  GenerationInputError: 'Change the setting named above and generate again.',
  NonFiniteError: 'Try other settings (fewer steps, lower guidance) or start the app with ?precision=f32 to use the f32 path.',
  LoraFileError: 'Use a LoRA .safetensors file made for this model family (kohya or diffusers/PEFT keys).',
  LoraApplyError: 'Use a LoRA made for this model family, or remove it.',
  TrainingDivergedError: 'Lower the learning rate, then start again; the last checkpoint is kept.',
  StorageQuotaError: 'Storage is full: delete checkpoints or clear cached models, then try again.',
  'HubError:offline': 'You are offline or the hub is unreachable. Models downloaded before still load offline.',
  'HubError:gated': 'Accept the model licence on huggingface.co and paste an access token.',
  'HubError:not-found': 'Check the repository id (owner/name), e.g. stable-diffusion-v1-5/stable-diffusion-v1-5.',
  'HubError:quota': 'Storage is full: clear cached models, then retry; the download resumes where it stopped.',
  'HubError:interrupted': 'The connection dropped: try again; the download resumes where it stopped.',
};

function isCancelled(error: Error | undefined): boolean {
  return error?.name === 'CancelledError';
}

export function ErrorNotice({ error, context }: { error: Error | undefined; context: string }) {
  if (!error) return null;
  if (isCancelled(error)) return <p className="notice">Cancelled.</p>;
  const reason = (error as Error & { reason?: string }).reason;
  const advice = ADVICE[`${error.name}:${reason}`] ?? ADVICE[error.name];
  return (
    <div className="notice error" aria-live="assertive" data-testid="error">
      <p>
        <strong>{context} failed:</strong> {error.message}
      </p>
      {advice && <p>{advice}</p>}
    </div>
  );
}
