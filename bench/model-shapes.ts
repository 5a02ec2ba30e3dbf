/**
 * The four model shapes of the autodiff speed goal (issue 16), built in code with seeded random
 * weights, and a matching random dataset: a small CNN (Conv-BN-ReLU-MaxPool-Conv-ReLU-GAP-Linear
 * on 8x8), a wider CNN (convs of 32, 64, 64 channels and a MaxPool on 16x16), an MLP
 * 784-1024-512-10 and a LayerNorm-GELU MLP. Same layouts as bench/torch_autodiff.py builds.
 */
import { buildModel, type NodeSpec } from '../test/helpers/onnx-builder.js';
import { float, int, ints, type Model } from '../native/onnx/ir.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';
import type { LoadedDataset } from '../analyzers/types.js';

export interface ModelShape {
  label: string;
  model: Model;
  /** Per-sample input shape. */
  sample: number[];
}

const CLASSES = 10;

/** Layer-by-layer builder: each call appends nodes and returns the new tensor's name. */
class Layers {
  readonly nodes: NodeSpec[] = [];
  readonly inits: Record<string, Tensor> = {};
  private n = 0;
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  private name(p: string) {
    return `${p}${this.n++}`;
  }
  /** He-scaled normal weights. */
  private weight(dims: number[], fanIn: number): string {
    const name = this.name('w');
    const count = dims.reduce((a, b) => a * b, 1);
    const s = Math.sqrt(2 / fanIn);
    this.inits[name] = tensor('float32', dims, Array.from({ length: count }, () => Math.fround(s * this.rng.normal())));
    return name;
  }
  private constant(dims: number[], values: number[]): string {
    const name = this.name('c');
    this.inits[name] = tensor('float32', dims, values);
    return name;
  }
  op(op: string, inputs: string[], attrs: NodeSpec['attrs'] = {}): string {
    const out = this.name(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attrs });
    return out;
  }
  conv(x: string, cin: number, cout: number): string {
    const w = this.weight([cout, cin, 3, 3], cin * 9);
    const b = this.constant([cout], new Array<number>(cout).fill(0.01));
    return this.op('Conv', [x, w, b], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) });
  }
  batchNorm(x: string, c: number): string {
    const r = (base: number, s: number) => Array.from({ length: c }, () => Math.fround(base + s * this.rng.normal()));
    const inputs = [this.constant([c], r(1, 0.1)), this.constant([c], r(0, 0.1)), this.constant([c], r(0, 0.1)), this.constant([c], r(1, 0.1).map(Math.abs))];
    return this.op('BatchNormalization', [x, ...inputs], { epsilon: float(1e-5) });
  }
  maxPool(x: string): string {
    return this.op('MaxPool', [x], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
  }
  linear(x: string, fin: number, fout: number): string {
    const w = this.weight([fout, fin], fin);
    const b = this.constant([fout], new Array<number>(fout).fill(0.01));
    return this.op('Gemm', [x, w, b], { transB: int(1) });
  }
  layerNorm(x: string, c: number): string {
    return this.op('LayerNormalization', [x, this.constant([c], new Array<number>(c).fill(1)), this.constant([c], new Array<number>(c).fill(0))], { axis: int(-1) });
  }
  /** GELU as PyTorch exports it at opset < 20: x * 0.5 * (1 + erf(x / sqrt 2)). */
  gelu(x: string): string {
    const e = this.op('Erf', [this.op('Mul', [x, this.constant([], [Math.SQRT1_2])])]);
    return this.op('Mul', [this.op('Mul', [x, this.constant([], [0.5])]), this.op('Add', [e, this.constant([], [1])])]);
  }
  model(input: string, sample: number[], out: string): Model {
    const model = buildModel({ opset: 17, inputs: [{ name: input, dtype: 'float32', dims: ['N', ...sample] }], nodes: this.nodes, outputs: [out], initializers: this.inits });
    model.graph.outputs = [{ name: out, dtype: 'float32', shape: ['N', CLASSES] }];
    return model;
  }
}

function smallCnn(): ModelShape {
  const L = new Layers(1);
  let h = L.op('Relu', [L.batchNorm(L.conv('x', 3, 16), 16)]);
  h = L.maxPool(h);
  h = L.op('Relu', [L.conv(h, 16, 32)]);
  h = L.op('Flatten', [L.op('GlobalAveragePool', [h])], { axis: int(1) });
  return { label: 'small CNN 8x8 (16, 32 ch)', model: L.model('x', [3, 8, 8], L.linear(h, 32, CLASSES)), sample: [3, 8, 8] };
}

function widerCnn(): ModelShape {
  const L = new Layers(2);
  let h = L.op('Relu', [L.conv('x', 3, 32)]);
  h = L.maxPool(L.op('Relu', [L.conv(h, 32, 64)]));
  h = L.op('Relu', [L.conv(h, 64, 64)]);
  h = L.op('Flatten', [L.op('GlobalAveragePool', [h])], { axis: int(1) });
  return { label: 'wider CNN 16x16 (32, 64, 64 ch)', model: L.model('x', [3, 16, 16], L.linear(h, 64, CLASSES)), sample: [3, 16, 16] };
}

function mlp(): ModelShape {
  const L = new Layers(3);
  let h = L.op('Relu', [L.linear('x', 784, 1024)]);
  h = L.op('Relu', [L.linear(h, 1024, 512)]);
  return { label: 'MLP 784-1024-512-10', model: L.model('x', [784], L.linear(h, 512, CLASSES)), sample: [784] };
}

function layerNormGeluMlp(): ModelShape {
  const L = new Layers(4);
  let h = L.gelu(L.layerNorm(L.linear('x', 784, 512), 512));
  h = L.gelu(L.layerNorm(L.linear(h, 512, 256), 256));
  return { label: 'LayerNorm-GELU MLP 784-512-256-10', model: L.model('x', [784], L.linear(h, 256, CLASSES)), sample: [784] };
}

export function modelShapes(): ModelShape[] {
  return [smallCnn(), widerCnn(), mlp(), layerNormGeluMlp()];
}

/** `count` standard-normal samples with uniform random labels. */
export function randomDataset(sample: number[], count: number, seed = 7): LoadedDataset {
  const rng = new Rng(seed);
  const per = sample.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: count * per }, () => rng.normal());
  const y = Int32Array.from({ length: count }, () => Math.floor(rng.next() * CLASSES));
  return { sha256: `random-${seed}-${sample.join('x')}-${count}`, format: 'npz', count, sampleShape: sample, x, y, yShape: [] };
}
