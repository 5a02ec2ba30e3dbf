"""PyTorch anchors for the autodiff bench (bench/torch-autodiff.ts runs this, never a test).

The four model shapes of bench/model-shapes.ts, rebuilt in torch: forward (no_grad), the loss
gradient (torch.autograd.grad) and the double-backward HVP (grad of <grad, v>), batch and thread
count from argv, medians of 10 interleaved runs after 3 warm-ups. Prints one JSON object keyed by
the same labels as the TypeScript side.
"""
import json
import statistics
import sys
import time

import torch
from torch import nn

torch.manual_seed(0)


class Gelu(nn.Module):
    def forward(self, x):
        return x * 0.5 * (1 + torch.erf(x * 0.7071067811865476))


def conv(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


SHAPES = {
    'small CNN 8x8 (16, 32 ch)': ((3, 8, 8), lambda: nn.Sequential(
        conv(3, 16), nn.BatchNorm2d(16).eval(), nn.ReLU(), nn.MaxPool2d(2), conv(16, 32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))),
    'wider CNN 16x16 (32, 64, 64 ch)': ((3, 16, 16), lambda: nn.Sequential(
        conv(3, 32), nn.ReLU(), conv(32, 64), nn.ReLU(), nn.MaxPool2d(2), conv(64, 64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))),
    'MLP 784-1024-512-10': ((784,), lambda: nn.Sequential(
        nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))),
    'LayerNorm-GELU MLP 784-512-256-10': ((784,), lambda: nn.Sequential(
        nn.Linear(784, 512), nn.LayerNorm(512), Gelu(), nn.Linear(512, 256), nn.LayerNorm(256), Gelu(),
        nn.Linear(256, 10))),
}


def time_interleaved(fns, warmup=3, repeats=10):
    for _ in range(warmup):
        for f in fns:
            f()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, f in enumerate(fns):
            t0 = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t0) * 1000)
    return [statistics.median(t) for t in times]


def load_fixture(path, model, sample):
    """The TypeScript side's weights (state_dict order, num_batches_tracked left out) and data,
    so both engines differentiate the same function at the same point."""
    with open(path) as f:
        fx = json.load(f)
    keys = [k for k in model.state_dict() if not k.endswith('num_batches_tracked')]
    if len(keys) != len(fx['tensors']):
        raise SystemExit(f'fixture has {len(fx["tensors"])} tensors, the torch model {len(keys)}')
    state = model.state_dict()
    for k, t in zip(keys, fx['tensors']):
        state[k] = torch.tensor(t['data'], dtype=torch.float32).reshape(t['dims'])
    model.load_state_dict(state)
    x = torch.tensor(fx['x'], dtype=torch.float32).reshape(-1, *sample)
    return x, torch.tensor(fx['y'], dtype=torch.int64)


def pyhessian(fixture, trace_tol_stderr=0.01, max_probes=500):
    """PyHessian's (Yao et al. 2020) top-5 power iteration with deflation (maxIter 100, tol 1e-3)
    and its default Hutchinson trace (maxIter 100, stop when the running mean changes by < 1e-3),
    written out from the paper's algorithms on the small CNN with the weights and samples of
    `fixture` (bench/hessian.ts writes it) in one batch; plus Hutchinson to a 1% standard error
    (our stopping rule) for the same products."""
    sample, make = SHAPES['small CNN 8x8 (16, 32 ch)']
    model = make()
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    x, y = load_fixture(fixture, model, sample)
    loss_fn = nn.CrossEntropyLoss()
    count = [0]

    def hv(v):
        count[0] += 1
        g = torch.autograd.grad(loss_fn(model(x), y), params, create_graph=True)
        return [h.detach() for h in torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)]

    dot = lambda a, b: sum((ai * bi).sum() for ai, bi in zip(a, b)).item()

    def normalize(v):
        n = dot(v, v) ** 0.5
        return [vi / (n + 1e-6) for vi in v]

    def top(n=5, max_iter=100, tol=1e-3):
        vecs, vals = [], []
        for _ in range(n):
            v = normalize([torch.randn_like(p) for p in params])
            ev = None
            for _ in range(max_iter):
                for u in vecs:
                    c = dot(v, u)
                    v = [vi - c * ui for vi, ui in zip(v, u)]
                v = normalize(v)
                h = hv(v)
                tmp = dot(h, v)
                v = normalize(h)
                if ev is not None and abs(ev - tmp) / (abs(ev) + 1e-6) < tol:
                    ev = tmp
                    break
                ev = tmp
            vals.append(ev)
            vecs.append(v)
        return vals

    def rademacher():
        return [torch.randint_like(p, high=2) * 2 - 1 for p in params]

    def trace_default(max_iter=100, tol=1e-3):
        seen, tr = [], 0.0
        for _ in range(max_iter):
            v = rademacher()
            seen.append(dot(hv(v), v))
            m = sum(seen) / len(seen)
            if abs(m - tr) / (abs(tr) + 1e-6) < tol:
                return m, len(seen)
            tr = m
        return tr, len(seen)

    def trace_stderr():
        seen = []
        while len(seen) < max_probes:
            v = rademacher()
            seen.append(dot(hv(v), v))
            n = len(seen)
            if n >= 10:
                m = sum(seen) / n
                se = (sum((s - m) ** 2 for s in seen) / (n - 1) / n) ** 0.5
                if se <= trace_tol_stderr * abs(m):
                    break
        m = sum(seen) / len(seen)
        return m, len(seen)

    out = {}
    for name, fn in [('top5_power', top), ('trace_default', trace_default), ('trace_1pct', trace_stderr)]:
        count[0] = 0
        t0 = time.perf_counter()
        r = fn()
        out[name] = {'seconds': time.perf_counter() - t0, 'hvps': count[0], 'result': r}
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == 'hessian':
        torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
        r = pyhessian(sys.argv[2])
        print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'hessian': r}))
        return
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    out = {}
    for label, (sample, make) in SHAPES.items():
        model = make()
        model.eval()  # BatchNorm in inference mode, as the ONNX side analyzes it
        params = [p for p in model.parameters() if p.requires_grad]
        x = torch.randn(batch, *sample)
        y = torch.randint(0, 10, (batch,))
        v = [torch.randn_like(p) for p in params]
        loss_fn = nn.CrossEntropyLoss()

        def forward():
            with torch.no_grad():
                model(x)

        def gradient():
            return torch.autograd.grad(loss_fn(model(x), y), params)

        def hvp():
            g = torch.autograd.grad(loss_fn(model(x), y), params, create_graph=True)
            dot = sum((gi * vi).sum() for gi, vi in zip(g, v))
            return torch.autograd.grad(dot, params)

        f, g, h = time_interleaved([forward, gradient, hvp])
        out[label] = {'forwardMs': f, 'gradientMs': g, 'hvpMs': h}
    print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'timings': out}))


if __name__ == '__main__':
    main()
