// Runs the CLI from its TypeScript source (src/cli/main.ts through tsx) as a child process, so CLI
// tests exercise the source as it is now: there is no build that could be stale.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
/** tsx's loader by URL: CLI tests run in temporary directories, where `--import tsx` would not resolve. */
const TSX = import.meta.resolve('tsx');

const BREAK_RULE = import.meta.resolve('../helpers/break-rule-preload.ts');

/** The node arguments that run `lifecycle-guard ...args` from the sources under `root`. */
export function cliArgv(args: readonly string[], root = ROOT, preload: readonly string[] = []): string[] {
  return ['--import', TSX, ...preload.flatMap((module) => ['--import', module]), join(root, 'src', 'cli', 'main.ts'), ...args];
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lifecycle-guard ...args` in `cwd`, with `input` on stdin; never through a terminal. */
export function runCli(
  args: readonly string[],
  options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv; root?: string; brokenRule?: string },
): CliResult {
  const env = { ...process.env, ...options.env };
  if (options.brokenRule !== undefined) env.LIFECYCLE_GUARD_TEST_BROKEN_RULE = options.brokenRule;
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  const result = spawnSync(process.execPath, cliArgv(args, options.root, options.brokenRule === undefined ? [] : [BREAK_RULE]), {
    cwd: options.cwd,
    input: options.input ?? '',
    encoding: 'utf8',
    env,
    maxBuffer: 256 * 1024 * 1024,
    // A CLI that does not end is a bug: fail the test (ETIMEDOUT) instead of hanging the suite.
    timeout: 300_000,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh temporary directory, removed when the test file ends. */
export function tempDir(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), `lifecycle-guard-${prefix}-`));
  after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** Writes files (relative paths, folders created) into a directory. */
export function writeFiles(directory: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(directory, path)), { recursive: true });
    writeFileSync(join(directory, path), text);
  }
}

/** Passes every rule: exec form, readiness probe, preStop, FallbackToLogsOnError. */
export const CLEAN_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: clean
  namespace: shop
spec:
  selector:
    matchLabels: {app: clean}
  template:
    metadata:
      labels: {app: clean}
    spec:
      containers:
      - name: app
        image: example/app
        command: ["/app/server"]
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
        lifecycle:
          preStop:
            sleep: {seconds: 5}
        terminationMessagePolicy: FallbackToLogsOnError
`;

/** Breaks both default validating rules, and both mutating rules would change it. */
export const DENIED_POD = `apiVersion: v1
kind: Pod
metadata:
  name: denied
  namespace: shop
spec:
  containers:
  - name: app
    image: example/app
    command: ["sh", "-c", "./server"]
`;

/** Passes the validating rules; only the mutating rules would change it. */
export const MUTATE_ONLY_DEPLOYMENT = `# Only mutating rules have something to say about this one.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # the name
  namespace: shop
  labels:
    zeta: last
    alpha: first
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      # the app container
      containers:
      - name: app
        image: example/app
        command: ["/app/server", "--port", "8080"]
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
        ports:
        - containerPort: 8080
      terminationGracePeriodSeconds: 10 # too short for the delay
`;
