// Preloaded (node --import) into a measured process: writes its peak resident memory in KiB
// to $SLUICE_BENCH_MAX_RSS_FILE when it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.SLUICE_BENCH_MAX_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
