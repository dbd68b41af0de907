// The Checkpoints view: what training saved in this browser. Listing, loading, exporting and deleting
// wait on checkpoint storage.
import { ComingWith } from './ComingWith';

export function CheckpointsView() {
  return (
    <section className="panel" aria-labelledby="checkpoints-heading">
      <h2 id="checkpoints-heading">Checkpoints</h2>
      <p className="hint">
        Checkpoints saved during training (step, loss, size, date), to load into the generator, export as a diffusers unet/ folder, a
        single-file .safetensors for A1111 and ComfyUI, or a LoRA file, and to delete.
      </p>
      <button type="button" disabled aria-describedby="checkpoints-coming">
        Import a checkpoint
      </button>
      <ComingWith id="checkpoints-coming" feature="checkpoint storage (issue 7)" />
    </section>
  );
}
