import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/**
 * The largest manifest file read by default. Parsing YAML (JSON included) takes about 120 bytes of
 * memory and several microseconds per byte of input: 8 MiB is about 1 GB and half a minute, well
 * inside Node's heap, and several times the largest real manifest bundles (CRDs of a monitoring stack).
 */
export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;

/** Input the CLI refuses to read (too large, not a regular file): bad input, exit 2. */
export class RefusedInputError extends Error {
  override name = 'RefusedInputError';
}

function tooLarge(what: string, maxBytes: number): RefusedInputError {
  return new RefusedInputError(`${what}: larger than ${maxBytes} bytes (--max-file-size); split it, or raise the limit`);
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file';
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Reads a file descriptor to its end, refusing more than maxBytes; waits when a pipe has nothing yet. */
export function readBounded(fd: number, what: string, maxBytes: number): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - total));
    let read: number;
    try {
      read = readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      sleep(5);
      continue;
    }
    if (read === 0) return Buffer.concat(chunks, total).toString('utf8');
    total += read;
    if (total > maxBytes) throw tooLarge(what, maxBytes);
    chunks.push(chunk.subarray(0, read));
  }
}

/**
 * Reads a regular file of at most maxBytes. Anything else (a device such as /dev/zero, a FIFO, a
 * socket) is refused before it is opened: opening a FIFO would block, reading a device never ends.
 */
export function readRegularFile(path: string, maxBytes: number): string {
  const stats = statSync(path);
  if (!stats.isFile()) throw new RefusedInputError(`${path}: ${kindOf(stats)}, not a regular file; give manifest files or directories`);
  if (stats.size > maxBytes) throw tooLarge(path, maxBytes);
  const fd = openSync(path, 'r');
  try {
    return readBounded(fd, path, maxBytes);
  } finally {
    closeSync(fd);
  }
}
