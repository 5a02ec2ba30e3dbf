/**
 * PyTorch's forward / autograd.grad / double-backward HVP times for the bench's model shapes,
 * from bench/torch_autodiff.py under /usr/bin/python3 (Debian's python3-torch). Bench only: when
 * torch is missing the section says so in a note and prints our numbers alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Model } from '../native/onnx/ir.js';
import type { LoadedDataset } from '../analyzers/types.js';

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
export function torchHessian(model: Model, dataset: LoadedDataset, threads = 2): { parts: Record<string, TorchHessianPart> | null; note: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { parts: null, note: `PyTorch rows left out: ${PYTHON} cannot import torch (apt-get install python3-torch)` };
  const dir = mkdtempSync(path.join(tmpdir(), 'onnxscope-torch-'));
  try {
    const fixture = path.join(dir, 'fixture.json');
    writeFileSync(fixture, JSON.stringify(torchFixture(model, dataset)));
    const r = spawnSync(PYTHON, [scriptPath(), 'hessian', fixture, String(threads)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) return { parts: null, note: `PyTorch run failed: ${(r.stderr || String(r.error ?? r.signal)).trim().split('\n').slice(-2).join(' ')}` };
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; threads: number; hessian: Record<string, TorchHessianPart> };
    return { parts: out.hessian, note: `torch ${out.version} on ${out.threads} threads, same weights and samples as ours (the eigenvalues should agree to float32 rounding)` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The model's initializers in order of first use by its nodes (Conv W, B; BatchNormalization
 * scale, B, mean, var; Gemm W, B: the order of torch's state_dict for the same Sequential) and
 * the dataset, as JSON for torch_autodiff.py.
 */
function torchFixture(model: Model, dataset: LoadedDataset) {
  const seen = new Set<string>();
  const tensors: { dims: number[]; data: number[] }[] = [];
  for (const node of model.graph.nodes) {
    for (const name of node.inputs) {
      const t = model.graph.initializers.get(name);
      if (!t || seen.has(name) || t.dims.length === 0) continue;
      seen.add(name);
      tensors.push({ dims: t.dims, data: Array.from(t.data as ArrayLike<number>) });
    }
  }
  return { tensors, x: Array.from(dataset.x), y: Array.from(dataset.y as ArrayLike<number>) };
}
