/**
 * The built `onnxscope` command as a child process, as users run it: CPU provider, warn-level
 * logs. `runCli` is asynchronous, so a test may serve the GraphQL API from its own process
 * while the command talks to it; `cliSync` blocks.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const cliEnv = (env: Record<string, string>) => ({ ...process.env, ONNXSCOPE_EP: 'cpu', ONNXSCOPE_LOG_LEVEL: 'warn', ...env });

export function cliSync(args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: cliEnv(env), timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: cliEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
