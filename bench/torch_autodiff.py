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


def main():
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
