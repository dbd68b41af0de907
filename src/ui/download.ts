// Saves bytes as a file through the browser's download.
export function saveFile(data: Uint8Array | string, mime: string, name: string): void {
  const blob = new Blob([data as BlobPart], { type: mime });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // The download has its own reference by the time the click returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
