/**
 * Preload (`node --import`) for measuring a whole CLI process: on exit, writes the process's lifetime peak RSS in bytes
 * to the file named by DPC_BENCH_PEAK_RSS_FILE.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.DPC_BENCH_PEAK_RSS_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS * 1024)));
