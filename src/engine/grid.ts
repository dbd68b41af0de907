// Workgroup grids for flat work: split past the per-dimension dispatch limit into x * y.
export function flatGrid(items: number, groupSize: number, maxPerDim: number): [number, number] {
  const groups = Math.ceil(items / groupSize);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim) throw new RangeError(`${items} items need ${groups} workgroups, more than ${maxPerDim}² (chunk the work)`);
  return [Math.ceil(groups / y), y];
}
