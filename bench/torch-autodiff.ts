/**
 * PyTorch's forward / autograd.grad / double-backward HVP times for the bench's model shapes,
 * from bench/torch_autodiff.py under /usr/bin/python3 (Debian's python3-torch). Bench only: when
 * torch is missing the section says so in a note and prints our numbers alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface TorchTiming {
  forwardMs: number;
  gradientMs: number;
  hvpMs: number;
}

const PYTHON = '/usr/bin/python3';

/** The .py file sits beside this module's source (bench/), also when run from dist/bench. */
function scriptPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, path.join(here, '..', '..', 'bench')]) {
    const p = path.join(dir, 'torch_autodiff.py');
    if (existsSync(p)) return p;
  }
  throw new Error(`torch_autodiff.py not found near ${here}`);
}

export function torchTimings(batch: number, threads = 2): { timings: Record<string, TorchTiming> | null; note: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { timings: null, note: `PyTorch columns left out: ${PYTHON} cannot import torch (apt-get install python3-torch)` };
  const r = spawnSync(PYTHON, [scriptPath(), String(batch), String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) return { timings: null, note: `PyTorch run failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; threads: number; timings: Record<string, TorchTiming> };
  return { timings: out.timings, note: `torch ${out.version} on ${out.threads} threads: eval-mode forward (no_grad), autograd.grad, double-backward HVP` };
}
