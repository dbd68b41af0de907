// `npm run bench -- <name>`: runs one benchmark (or `all`) and prints its table and JSON lines.
import { printRows, type Benchmark } from './report';

const benchmarks: Record<string, () => Promise<{ default: Benchmark }>> = {
  generate: () => import('./generate'),
  kernels: () => import('./kernels'),
  load: () => import('./load'),
  stencil: () => import('./stencil'),
  train: () => import('./train'),
};

async function main(): Promise<number> {
  const name = process.argv[2];
  const names = Object.keys(benchmarks);
  if (!name || name === '--help' || (name !== 'all' && !benchmarks[name])) {
    console.log(`usage: npm run bench -- <${[...names, 'all'].join('|')}>`);
    return name && name !== '--help' ? 2 : 0;
  }
  for (const n of name === 'all' ? names : [name]) {
    const bench = (await benchmarks[n]()).default;
    console.log(`\n# ${bench.name}: ${bench.summary}`);
    printRows(bench.name, await bench.run());
  }
  return 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
