// The spawn floor: one node process spawning `command` (argv[3], default `true`) `concurrency`
// (argv[4]) at a time until it has run `count` (argv[2]); what any runner of these jobs pays.
import { spawn } from 'node:child_process';

const count = Number(process.argv[2]);
const command = process.argv[3] ?? 'true';
const concurrency = Number(process.argv[4] ?? 8);
let started = 0;

const one = () =>
  new Promise((resolve, reject) => {
    const p = spawn(command, [], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });

async function lane() {
  while (started < count) {
    started++;
    await one();
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
