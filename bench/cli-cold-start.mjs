// CLI cold start: `dpc --version` wall time against `node -e 0`, alternating runs so both see the same machine state.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/dpc', import.meta.url));
const RUNS = 15;

function time(args) {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (child.status !== 0) throw new Error(`node ${args.join(' ')} exited ${child.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const dpc = [];
  const node = [];
  time([bin, '--version']); // warm the file cache
  for (let i = 0; i < RUNS; i++) {
    node.push(time(['-e', '0']));
    dpc.push(time([bin, '--version']));
  }
  const dpcHelp = [];
  for (let i = 0; i < 5; i++) dpcHelp.push(time([bin, '--help']));
  return [
    { metric: 'node -e 0 (median)', value: median(node).toFixed(1), unit: 'ms' },
    { metric: 'dpc --version (median)', value: median(dpc).toFixed(1), unit: 'ms' },
    { metric: 'dpc --help (median)', value: median(dpcHelp).toFixed(1), unit: 'ms' },
    { metric: 'ratio dpc --version / node -e 0', value: (median(dpc) / median(node)).toFixed(2), unit: 'x' },
  ];
}
