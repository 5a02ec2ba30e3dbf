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

export interface TorchHessianPart {
  seconds: number;
  hvps: number;
  result: number | number[] | [number, number];
}

/**
 * PyHessian-style analysis of the small CNN in torch (bench/torch_autodiff.py `hessian`): top-5
 * power iteration with deflation, the default Hutchinson trace, and Hutchinson to 1% standard
 * error. Null with a note when torch is missing or the run fails.
 */
export function torchHessian(samples: number, threads = 2): { parts: Record<string, TorchHessianPart> | null; note: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { parts: null, note: `PyTorch rows left out: ${PYTHON} cannot import torch (apt-get install python3-torch)` };
  const r = spawnSync(PYTHON, [scriptPath(), 'hessian', String(samples), String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) return { parts: null, note: `PyTorch run failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; threads: number; hessian: Record<string, TorchHessianPart> };
  return { parts: out.hessian, note: `torch ${out.version} on ${out.threads} threads, its own random init and data (other curvature, so compare s per HVP as well as totals)` };
}
