import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The entry module `name` beside the module at `from` (its import.meta.url), and whether it is TypeScript (tsx, tests). */
function entryBeside(name: string, from: string): { entry: URL; typescript: boolean } {
  const extension = from.slice(from.lastIndexOf('.'));
  return { entry: new URL(`./${name}${extension}`, from), typescript: extension !== '.js' };
}

/**
 * Starts the worker whose entry module is `name` beside the module at `from` (its import.meta.url).
 * Under tsx (tests), a worker must register the TypeScript loader itself before importing its entry.
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  const { entry, typescript } = entryBeside(name, from);
  if (!typescript) return new Worker(entry, options);
  // Resolved here, from the sources: the eval'd code would resolve it from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`, {
    ...options,
    eval: true,
  });
}

/**
 * Starts a Node child process (with an IPC channel) whose entry module is `name` beside the module at
 * `from`. None of this process's Node flags are passed on; under tsx, the TypeScript loader is.
 */
export function startChildProcess(name: string, from: string, options: Omit<ForkOptions, 'execArgv'> = {}): ChildProcess {
  const { entry, typescript } = entryBeside(name, from);
  return fork(fileURLToPath(entry), [], { ...options, execArgv: typescript ? ['--import', import.meta.resolve('tsx/esm')] : [] });
}
