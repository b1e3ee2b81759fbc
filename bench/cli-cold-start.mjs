// CLI cold start: `dpc --version` and `dpc --help` wall time against `node -e 0`, paired (each round runs all three
// back to back, so they see the same machine state); medians and the median of the per-round ratios. Goal: ≤ 2×.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/dpc', import.meta.url));
const ROUNDS = 21;

function time(args) {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (child.status !== 0) throw new Error(`node ${args.join(' ')} exited ${child.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const node = [];
  const version = [];
  const help = [];
  time([bin, '--help']); // warm the file cache
  for (let i = 0; i < ROUNDS; i++) {
    node.push(time(['-e', '0']));
    version.push(time([bin, '--version']));
    help.push(time([bin, '--help']));
  }
  const ratio = (xs) => median(xs.map((x, i) => x / node[i])).toFixed(2);
  return [
    { metric: 'node -e 0 (median)', value: median(node).toFixed(1), unit: 'ms' },
    { metric: 'dpc --version (median)', value: median(version).toFixed(1), unit: 'ms' },
    { metric: 'dpc --help (median)', value: median(help).toFixed(1), unit: 'ms' },
    { metric: 'ratio dpc --version / node -e 0 (median of pairs)', value: ratio(version), unit: 'x' },
    { metric: 'ratio dpc --help / node -e 0 (median of pairs)', value: ratio(help), unit: 'x' },
  ];
}
