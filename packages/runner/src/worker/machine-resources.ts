import os from 'node:os';

export interface MachineResources {
  numCpus: number;
  memoryBytes: number;
  numGpus: number;
  numNodes: number;
}

/** What this machine offers when the user gives no limits. GPUs are never guessed. */
export function detectMachineResources(): MachineResources {
  return {
    numCpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    memoryBytes: os.totalmem(),
    numGpus: 0,
    numNodes: 1,
  };
}

/** What a worker offers: the limits it was given, and this machine's for the rest. */
export function offeredResources(given: Partial<MachineResources>): MachineResources {
  const machine = detectMachineResources();
  return {
    numCpus: given.numCpus ?? machine.numCpus,
    memoryBytes: given.memoryBytes ?? machine.memoryBytes,
    numGpus: given.numGpus ?? machine.numGpus,
    numNodes: given.numNodes ?? machine.numNodes,
  };
}
