import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker whose entry module is `name` beside the module at `from` (its import.meta.url).
 * Under tsx (tests), a worker must register the TypeScript loader itself before importing its entry.
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  const extension = from.slice(from.lastIndexOf('.'));
  const entry = new URL(`./${name}${extension}`, from);
  if (extension === '.js') return new Worker(entry, options);
  // Resolved here, from the sources: the eval'd code would resolve it from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`, {
    ...options,
    eval: true,
  });
}
