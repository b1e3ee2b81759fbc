// Run with --allow-natives-syntax: applies tuneForCommand(argv) from dist/, then reports whether a hot function still
// gets optimized and how far the young generation grows under a workload whose objects survive a while.
import v8 from 'node:v8';

const { tuneForCommand } = await import(new URL('../../dist/cli/tuning.js', import.meta.url).href);
const applied = tuneForCommand(process.argv.slice(2));
function hot(x) {
  return x * 2 + 1;
}
%PrepareFunctionForOptimization(hot);
hot(1);
hot(2);
%OptimizeFunctionOnNextCall(hot);
hot(3);
const optimized = (%GetOptimizationStatus(hot) & 16) !== 0;
const ring = new Array(50_000);
for (let i = 0; i < 3e6; i++) ring[i % ring.length] = { i, s: `x${i}` };
const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
process.stdout.write(JSON.stringify({ applied, optimized, newSpaceMiB: newSpace / 2 ** 20 }));
