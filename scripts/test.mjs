// `npm test`: checks prerequisites (installing them on Debian as root), type-checks, then runs the Node
// suite (Dawn on lavapipe, one GPU file at a time) and the browser suite (built app in headless Chromium)
// side by side: both spend most of their time in single-threaded shader compiles, so two cores run them
// in little more than the longer one's time. The Node suite prints as it goes, the browser suite after.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

function missing() {
  const out = [];
  if (!existsSync(LAVAPIPE)) out.push('Mesa lavapipe (mesa-vulkan-drivers from bookworm-backports)');
  if (!CHROMIUM.some(existsSync)) out.push('Debian chromium');
  return out;
}

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

let lacking = missing();
if (lacking.length) {
  const root = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!root) {
    console.error(`Missing: ${lacking.join('; ')}. Install them as root with:\n  sudo bash scripts/install-prereqs.sh`);
    process.exit(1);
  }
  console.log(`Installing: ${lacking.join('; ')}`);
  if (run('bash', ['scripts/install-prereqs.sh']) !== 0) process.exit(1);
  lacking = missing();
  if (lacking.length) {
    console.error(`Still missing after install: ${lacking.join('; ')}`);
    process.exit(1);
  }
}

mkdirSync('artifacts', { recursive: true });
const env = { VK_ICD_FILENAMES: LAVAPIPE, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const suites = [
  ['node', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile=artifacts/node-tests.json']],
  ['browser', ['vitest', 'run', '-c', 'vitest.e2e.config.ts', '--reporter=default', '--reporter=json', '--outputFile=artifacts/e2e-tests.json']],
];
/** Runs a suite; its output streams (inherit) or is kept to print later. Resolves to [status, output]. */
function start(args, stream) {
  return new Promise((resolve) => {
    const child = spawn('npx', args, { stdio: stream ? 'inherit' : ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const chunks = [];
    child.stdout?.on('data', (c) => chunks.push(c));
    child.stderr?.on('data', (c) => chunks.push(c));
    child.on('close', (code) => resolve([code ?? 1, Buffer.concat(chunks).toString()]));
  });
}

let failedSuites = 0;
if (run('npx', ['tsc', '--noEmit', '-p', '.']) !== 0) failedSuites++;
if (run('npx', ['vite', 'build', '--logLevel', 'warn']) !== 0) failedSuites++;
const results = await Promise.all(suites.map(([, args], i) => start(args, i === 0)));
for (const [i, [status, output]] of results.entries()) {
  if (output) process.stdout.write(`\n--- ${suites[i][0]} suite ---\n${output}`);
  if (status !== 0) failedSuites++;
}

let passed = 0;
let failed = 0;
for (const file of ['artifacts/node-tests.json', 'artifacts/e2e-tests.json']) {
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failedSuites > 0 || failed > 0 ? 1 : 0);
