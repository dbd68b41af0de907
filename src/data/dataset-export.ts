// A dataset as a Hugging Face imagefolder: the original image files at their relative paths plus
// `metadata.jsonl` ({"file_name", "text"} per line), the input of diffusers' train_text_to_image.py
// (`--train_data_dir DIR --caption_column text`) for runs that move to a GPU cluster.

import type { Dataset } from './dataset-selection';

export interface ExportedFile {
  path: string;
  blob: Blob;
}

export async function exportImagefolder(dataset: Dataset): Promise<ExportedFile[]> {
  const files: ExportedFile[] = [];
  const lines: string[] = [];
  for (const entry of dataset.entries) {
    files.push({ path: entry.path, blob: await entry.file.blob() });
    lines.push(JSON.stringify({ file_name: entry.path, text: entry.caption }));
  }
  files.push({ path: 'metadata.jsonl', blob: new Blob([lines.join('\n') + '\n'], { type: 'application/jsonl' }) });
  return files;
}
