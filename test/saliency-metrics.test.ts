/**
 * The saliency analyzer's pure parts against known values or brute force: bilinear resizing
 * (values torch.nn.functional.interpolate(mode='bilinear', align_corners=False) gives),
 * Spearman, AUC, curve images, im2col patch norms (strides, dilations, groups, SAME padding),
 * the colormap and the multi-layer combination.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizeBilinear, minMaxNormalize, combineMaps } from '../analyzers/saliency/resize.js';
import { spearman, ranks, auc, curveImages, saliencyOrder, gaussianBlur, classProbability } from '../analyzers/saliency/metrics.js';
import { patchSquaredNorms, convGeometry } from '../analyzers/saliency/im2col.js';
import { jet } from '../analyzers/saliency/overlay.js';
import { layerGeometry, channelsBySpace, inputGeometry } from '../analyzers/saliency/layers.js';
import { ints, str, int, type Node } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('bilinear resize uses half-pixel centres (torch align_corners=False, cv2 INTER_LINEAR)', () => {
  // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode='bilinear')
  close(resizeBilinear([1, 2, 3, 4], 2, 2, 4, 4), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  // Downsampling 1x4 -> 1x2 samples at 0.5 and 2.5.
  close(resizeBilinear([0, 1, 2, 3], 1, 4, 1, 2), [0.5, 2.5]);
  // 3 -> 5: src = (k + 0.5) * 0.6 - 0.5 = -0.2 (clamped 0), 0.4, 1, 1.6, 2.2 (-> 2).
  close(resizeBilinear([0, 10, 20], 1, 3, 1, 5), [0, 4, 10, 16, 20]);
  close(resizeBilinear([5, 6, 7], 1, 3, 1, 3), [5, 6, 7]);
});

test('min-max normalization and constant maps', () => {
  const m = Float64Array.from([2, 4, 3]);
  assert.deepEqual(minMaxNormalize(m), { min: 2, max: 4 });
  close(m, [0, 1, 0.5]);
  const z = Float64Array.from([0, 0]);
  minMaxNormalize(z);
  close(z, [0, 0]);
});

test('Spearman: textbook formula without ties, average ranks with ties', () => {
  const rng = new Rng(9);
  for (let trial = 0; trial < 5; trial++) {
    const n = 12;
    const a = Array.from({ length: n }, () => rng.normal());
    const b = Array.from({ length: n }, () => rng.normal());
    const ra = ranks(a);
    const rb = ranks(b);
    let d2 = 0;
    for (let i = 0; i < n; i++) d2 += (ra[i]! - rb[i]!) ** 2;
    assert.ok(Math.abs(spearman(a, b) - (1 - (6 * d2) / (n * (n * n - 1)))) < 1e-12);
  }
  close(ranks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
  // ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4]: 4.5 / sqrt(4.5 * 5).
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 4.5 / Math.sqrt(22.5)) < 1e-12);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), 0, 'a constant map ranks nothing');
});

test('AUC (trapezoid on [0, 1]) and deletion / insertion images', () => {
  assert.equal(auc([1, 0.5, 0]), 0.5);
  assert.equal(auc([1, 1, 1, 1]), 1);
  assert.ok(Math.abs(auc([0, 1]) - 0.5) < 1e-15);
  const order = saliencyOrder([0.1, 0.9, 0.5, 0.9]);
  assert.deepEqual(Array.from(order), [1, 3, 2, 0], 'descending, ties by position');
  // 2 channels x 4 positions; steps 2 -> 0, 2, 4 positions changed.
  const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const zero = new Float32Array(8);
  const del = curveImages(x, zero, order, 2, 2, 'deletion');
  close(del.subarray(0, 8), [1, 2, 3, 4, 5, 6, 7, 8]);
  close(del.subarray(8, 16), [1, 0, 3, 0, 5, 0, 7, 0]);
  close(del.subarray(16, 24), new Float32Array(8));
  const ins = curveImages(x, zero, order, 2, 2, 'insertion');
  close(ins.subarray(8, 16), [0, 2, 0, 4, 0, 6, 0, 8]);
  close(ins.subarray(16, 24), x);
  // The blur kernel is normalized: a constant image stays constant (edges clamped).
  close(gaussianBlur(new Float32Array(25).fill(3), 1, 5, 5, 1.2), new Float32Array(25).fill(3), 1e-6);
  // Softmax probability.
  assert.ok(Math.abs(classProbability([0, Math.log(3)], 0, 2, 1) - 0.75) < 1e-12);
  assert.ok(Math.abs(classProbability([5, Math.log(3)], 0, 2, 1, 'sigmoid') - 0.75) < 1e-12, 'multi-label: a sigmoid per class');
  assert.ok(Math.abs(classProbability([1, -Math.log(3)], 1, 1, 0) - 0.25) < 1e-12, 'one unit: sigmoid of its logit');
});

function convNode(attrs: Node['attrs']): Node {
  return { opType: 'Conv', domain: '', name: 'c', inputs: ['x', 'w'], outputs: ['y'], attrs };
}

test('im2col patch norms: strides, dilations, asymmetric pads, groups and SAME_UPPER against brute force', () => {
  const rng = new Rng(4);
  const cases: { attrs: Node['attrs']; cin: number; hin: number; win: number; k: [number, number]; groups: number }[] = [
    { attrs: { pads: ints([1, 1, 1, 1]) }, cin: 2, hin: 5, win: 5, k: [3, 3], groups: 1 },
    { attrs: { strides: ints([2, 2]), pads: ints([1, 0, 0, 1]), dilations: ints([1, 2]) }, cin: 3, hin: 7, win: 8, k: [3, 2], groups: 1 },
    { attrs: { group: int(2), pads: ints([0, 1, 0, 1]) }, cin: 4, hin: 4, win: 5, k: [2, 3], groups: 2 },
    { attrs: { auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) }, cin: 1, hin: 6, win: 5, k: [4, 3], groups: 1 },
  ];
  for (const c of cases) {
    const node = convNode({ kernel_shape: ints(c.k), ...c.attrs });
    const strides = (c.attrs.strides?.value as number[]) ?? [1, 1];
    const dil = (c.attrs.dilations?.value as number[]) ?? [1, 1];
    let pads = (c.attrs.pads?.value as number[]) ?? [0, 0, 0, 0];
    let hout: number;
    let wout: number;
    if (c.attrs.auto_pad) {
      hout = Math.ceil(c.hin / strides[0]!);
      wout = Math.ceil(c.win / strides[1]!);
      const th = Math.max(0, (hout - 1) * strides[0]! + c.k[0] - c.hin);
      const tw = Math.max(0, (wout - 1) * strides[1]! + c.k[1] - c.win);
      pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
    } else {
      hout = Math.floor((c.hin + pads[0]! + pads[2]! - dil[0]! * (c.k[0] - 1) - 1) / strides[0]!) + 1;
      wout = Math.floor((c.win + pads[1]! + pads[3]! - dil[1]! * (c.k[1] - 1) - 1) / strides[1]!) + 1;
    }
    const g = convGeometry(node, [c.cin, c.hin, c.win], [6, hout, wout], [6, c.cin / c.groups, ...c.k]);
    const x = Array.from({ length: 2 * c.cin * c.hin * c.win }, () => rng.normal());
    const off = c.cin * c.hin * c.win; // second sample
    const got = patchSquaredNorms(x, off, g);
    // Brute force: build each im2col column (zeros for padding) and take its squared norm.
    const per = c.cin / c.groups;
    const want: number[] = [];
    for (let grp = 0; grp < c.groups; grp++)
      for (let oy = 0; oy < hout; oy++)
        for (let ox = 0; ox < wout; ox++) {
          const col: number[] = [];
          for (let ch = grp * per; ch < (grp + 1) * per; ch++)
            for (let a = 0; a < c.k[0]; a++)
              for (let b = 0; b < c.k[1]; b++) {
                const iy = oy * strides[0]! - pads[0]! + a * dil[0]!;
                const ix = ox * strides[1]! - pads[1]! + b * dil[1]!;
                col.push(iy >= 0 && iy < c.hin && ix >= 0 && ix < c.win ? x[off + (ch * c.hin + iy) * c.win + ix]! : 0);
              }
          want.push(col.reduce((s, v) => s + v * v, 0));
        }
    close(got, want, 1e-9);
  }
});

test('jet colormap endpoints and the combination of layer maps', () => {
  assert.deepEqual(jet(0), [0, 0, 0.5]);
  assert.deepEqual(jet(0.5), [0.5, 1, 0.5]);
  assert.deepEqual(jet(1), [0.5, 0, 0]);
  const a = Float64Array.from([0, 0.5, 1]);
  const b = Float64Array.from([1, 0.5, 0.25]);
  close(combineMaps([a, b], [1, 1], 'sum'), [0.5, 0.5, 0.625]);
  close(combineMaps([a, b], [3, 1], 'geometric'), [0, 0.5, Math.pow(0.25, 0.25)]);
});

test('layer geometry: channels-first maps, token grids, inputs', () => {
  assert.deepEqual(layerGeometry([8, 7, 7], 'Relu'), { layout: 'channels-first', channels: 8, h: 7, w: 7, skipTokens: 0 });
  assert.deepEqual(layerGeometry([197, 768], 'LayerNormalization'), { layout: 'tokens', channels: 768, h: 14, w: 14, skipTokens: 1 });
  assert.deepEqual(layerGeometry([16, 10], 'Conv'), { layout: 'channels-first', channels: 16, h: 1, w: 10, skipTokens: 0 });
  assert.equal(layerGeometry([10], 'Gemm'), null);
  // tokens [T=5, C=2], one sample: position p is token p + 1, channel-major out.
  const g = layerGeometry([5, 2], 'Add')!;
  close(channelsBySpace([0, 0, 1, 2, 3, 4, 5, 6, 7, 8], 0, g), [1, 3, 5, 7, 2, 4, 6, 8]);
  assert.deepEqual(inputGeometry([1, 28, 28]), { channels: 1, h: 28, w: 28 });
  assert.deepEqual(inputGeometry([784]), { channels: 1, h: 28, w: 28 });
  assert.deepEqual(inputGeometry([3, 100]), { channels: 3, h: 1, w: 100 });
});
