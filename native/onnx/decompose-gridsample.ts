/**
 * GridSample (opsets 16, 20, 22) expanded into primitives the autodiff already differentiates
 * (Slice, Add, Mul, Div, Sub, Floor, Round, Where, GatherElements, Reshape, ReduceSum), so its
 * gradients in X and in the grid, and their HVPs, come from those rules and need none of their own.
 *
 * What is computed is what ONNX Runtime's CPU kernel computes (grid_sample.cc), output point by
 * output point, per spatial axis a of X (the grid's last dim lists the axes in reverse: x, the
 * last axis of X, first):
 *
 *   u = ((g + 1) / 2) * (size - 1)           align_corners = 1   (GsDenormalize: -1 and 1 are
 *   u = ((g + 1) * size - 1) / 2             align_corners = 0    the centres, resp. the outer
 *                                                                 edges, of the end pixels)
 *   nearest  tap u' = Round(u) (half to even: std::nearbyint), weight 1
 *   linear   taps f, f + 1 with f = Floor(u), t = u - f, weights 1 - t, t
 *   cubic    taps f - 1 .. f + 2, weights Keys' cubic convolution (A = -0.75) at the distances
 *            t + 1, t, 1 - t, 2 - t:  W(d) = (A+2)d^3 - (A+3)d^2 + 1          (d <= 1)
 *                                     W(d) = A d^3 - 5A d^2 + 8A d - 4A        (1 < d < 2)
 *            (GsGetCubicCoeffs; PyTorch's get_cubic_upsample_coefficients)
 *   Y = sum over the taps (one per axis) of prod_a weight_a * X[tap_0, .., tap_{S-1}]
 *
 * padding_mode applies to each integer tap, never to the coordinate u (ONNX Runtime 1.30's
 * PixelAtGrid, as PyTorch does for bicubic; the ONNX reference implementation clamps/reflects u
 * first, which gives the same values for linear and nearest and for reflection, but not for
 * cubic with border: there ORT is what runs the model, so ORT is what is reproduced):
 *   zeros       a tap outside [0, size - 1] reads 0 (its weight is set to 0 with Where)
 *   border      the tap is clamped to [0, size - 1]
 *   reflection  the tap is reflected at x_min = -0.5, x_max = size - 0.5 (align_corners = 0) or
 *               x_min = 0, x_max = size - 1 (align_corners = 1), repeatedly (GsReflect), written as
 *               a triangle wave of period 2R, R = x_max - x_min:
 *                 s = tap - x_min,  m = s - 2R Floor(s / 2R),  reflected = x_min + R - |m - R|
 *               (integer taps reflect to integers, so ORT's truncation to int64 changes nothing).
 *
 * Derivatives (what the primitives' rules give, and what PyTorch's grid_sampler backward
 * computes): Floor and Round carry none, so the taps and the padding are constant pieces and
 * dY/dX scatters the weights back (GatherElements' rule: ScatterElements with reduction add);
 * dY/dg = sum over taps of X[tap] * dweight/dt * du/dg, du/dg = (size - 1) / 2 or size / 2.
 * Nearest gives no grid gradient (zero almost everywhere); border taps that clamp to one pixel
 * give zero since the weights sum to 1. The function has kinks where u crosses an integer
 * (a half-integer for nearest), where its derivative is one-sided.
 *
 * Layout: every per-axis quantity is shaped [N, out_1..out_S, K_0..K_{S-1}] by broadcasting, the
 * K taps of axis a on trailing axis a (1 elsewhere). Taps become flat indices into X viewed as
 * [N, C, size_0 * .. * size_{S-1}], expanded over C and gathered in one GatherElements; then the
 * weighted taps are summed. Every size (batch and spatial) comes from Shape at run time, so the
 * expansion holds at any batch size and fixes no spatial size.
 *
 * Not expanded (the node stays and is reported as unsupported), matching what ONNX Runtime runs:
 * ranks other than 4 and 5, cubic on 5-D input, a mode spelled for the other opset (GridSample-16
 * takes bilinear/nearest/bicubic, GridSample-20 linear/nearest/cubic), an unknown padding_mode,
 * or a rank that cannot be read at opset >= 20 (GridSample-16 is 4-D by definition).
 */
import type { GraphBuilder } from './builder.js';
import { attrInt, attrString, type Node } from './ir.js';
import { tensor } from './tensor.js';
import type { GraphFacts } from './decompose-rnn.js';

type Mode = 'linear' | 'nearest' | 'cubic';
type Padding = 'zeros' | 'border' | 'reflection';

interface Plan {
  /** Number of spatial axes (2 or 3). */
  spatial: number;
  mode: Mode;
  padding: Padding;
  align: boolean;
}

const MODES_16: Record<string, Mode> = { bilinear: 'linear', nearest: 'nearest', bicubic: 'cubic' };
const MODES_20: Record<string, Mode> = { linear: 'linear', nearest: 'nearest', cubic: 'cubic' };
const PADDINGS = new Set<string>(['zeros', 'border', 'reflection']);

/** Keys' cubic convolution parameter (ONNX spec, ORT and PyTorch all use -0.75). */
const A = -0.75;

/** Tap offsets from Floor(u), per mode. */
const OFFSETS: Record<Mode, number[]> = { nearest: [0], linear: [0, 1], cubic: [-1, 0, 1, 2] };

function plan(n: Node, facts: GraphFacts): Plan | string {
  const v20 = facts.opset >= 20;
  const modes = v20 ? MODES_20 : MODES_16;
  const modeName = attrString(n, 'mode', v20 ? 'linear' : 'bilinear');
  const mode = modes[modeName];
  if (!mode) return `mode "${modeName}" is not a GridSample-${v20 ? 20 : 16} mode (${Object.keys(modes).join(', ')})`;
  const padding = attrString(n, 'padding_mode', 'zeros');
  if (!PADDINGS.has(padding)) return `padding_mode "${padding}" is not zeros, border or reflection`;
  const [x, grid] = n.inputs;
  const rank = facts.dims(x ?? '')?.length ?? facts.dims(grid ?? '')?.length ?? (v20 ? undefined : 4);
  if (rank === undefined) return 'the rank of X is not known (the number of spatial axes fixes the expansion)';
  const spatial = rank - 2;
  if (spatial !== 2 && spatial !== 3) return `X has rank ${rank}; ONNX Runtime runs 4-D and 5-D GridSample only`;
  if (spatial === 3 && mode === 'cubic') return 'cubic mode on 5-D input (ONNX Runtime has no kernel for it)';
  return { spatial, mode, padding: padding as Padding, align: attrInt(n, 'align_corners', 0) !== 0 };
}

export function gridSampleRefusal(n: Node, facts: GraphFacts): string | null {
  const p = plan(n, facts);
  return typeof p === 'string' ? p : null;
}

const ones = (k: number): number[] => new Array<number>(k).fill(1);

export function expandGridSample(b: GraphBuilder, n: Node, facts: GraphFacts): void {
  const p = plan(n, facts);
  if (typeof p === 'string') throw new Error(`GridSample "${n.name}": ${p}`); // refused nodes never get here
  const [x, grid] = n.inputs as [string, string];
  const dtype = facts.dtypeOf(x);
  const S = p.spatial;
  const k = (v: number) => b.scalar(v, dtype);
  /** `values` laid along tap axis `a`: shape [K, 1, .., 1], broadcast against [N, out.., 1 x S]. */
  const alongTaps = (values: number[], a: number) => b.constant(tensor(dtype, [values.length, ...ones(S - 1 - a)], values), 'taps');
  const offsets = OFFSETS[p.mode];

  const sizes: string[] = [];
  const indices: string[] = [];
  const weights: string[] = [];
  for (let a = 0; a < S; a++) {
    const sizeInt = b.squeeze(b.op('Shape', [x], { start: 2 + a, end: 3 + a }), [0]); // rank 0
    const size = b.cast(sizeInt, dtype);
    const last = b.sub(size, k(1));
    const comp = S - 1 - a; // the grid lists x (X's last axis) first
    const g = b.op('Slice', [grid, b.int64s([comp]), b.int64s([comp + 1]), b.int64s([-1])]); // [N, out.., 1]
    const gu = S > 1 ? b.unsqueeze(g, Array.from({ length: S - 1 }, (_, i) => S + 2 + i)) : g; // [N, out.., 1 x S]
    // GsDenormalize, in ORT's order of operations.
    const plus1 = b.add(gu, k(1));
    let u = p.align ? b.mul(b.div(plus1, k(2)), last) : b.div(b.sub(b.mul(plus1, size), k(1)), k(2));
    if (p.mode === 'nearest') u = b.op('Round', [u]);
    const base = p.mode === 'nearest' ? u : b.op('Floor', [u]);
    const taps = p.mode === 'nearest' ? base : b.add(base, alongTaps(offsets, a));

    const zero = k(0);
    let valid: string | null = null;
    let padded = taps;
    if (p.padding === 'zeros') {
      valid = b.op('And', [b.op('GreaterOrEqual', [taps, zero]), b.op('LessOrEqual', [taps, last])]);
    } else if (p.padding === 'reflection') {
      padded = reflect(b, taps, p.align, size, last, k);
    }
    // Clamping also keeps the (then zero-weighted) out-of-range taps of zeros padding gatherable.
    indices.push(b.cast(b.op('Clip', [padded, zero, last]), 'int64'));
    sizes.push(sizeInt);

    let w: string | null = null;
    if (p.mode !== 'nearest') {
      const t = b.sub(u, base);
      w = p.mode === 'linear' ? b.add(b.mul(t, alongTaps([-1, 1], a)), alongTaps([1, 0], a)) : cubicWeights(b, t, a, alongTaps);
      if (valid) w = b.op('Where', [valid, w, zero]);
    } else if (valid) {
      w = b.cast(valid, dtype);
    }
    if (w) weights.push(w);
  }

  // Flat index into X's spatial block, row-major: ((i_0 * size_1 + i_1) * size_2 + i_2).
  let flat = indices[0]!;
  for (let a = 1; a < S; a++) flat = b.add(b.mul(flat, sizes[a]!), indices[a]!);
  const batchChannels = b.op('Shape', [x], { start: 0, end: 2 });
  const idx = b.op('Expand', [b.op('Reshape', [flat, b.int64s([0, 1, -1])]), b.op('Concat', [batchChannels, b.int64s([1])], { axis: 0 })]);
  let y = b.op('GatherElements', [b.op('Reshape', [x, b.int64s([0, 0, -1])]), idx], { axis: 2 }); // [N, C, points * taps]
  const tapCount = offsets.length ** S;
  if (weights.length > 0) {
    let w = weights[0]!;
    for (const wa of weights.slice(1)) w = b.mul(w, wa);
    y = b.mul(y, b.op('Reshape', [w, b.int64s([0, 1, -1])]));
  }
  if (tapCount > 1) y = b.reduceSum(b.op('Reshape', [y, b.int64s([0, 0, -1, tapCount])]), [3], false);
  const outShape = b.op('Concat', [batchChannels, b.op('Shape', [grid], { start: 1, end: 1 + S })], { axis: 0 });
  b.graph.nodes.push({ opType: 'Reshape', domain: '', name: b.fresh('GridSample'), inputs: [y, outShape], outputs: [n.outputs[0]!], attrs: {} });
}

/**
 * GsReflect of (integer-valued) taps as a triangle wave. A 1-pixel axis with align_corners has
 * R = 0 (ORT divides by it); every tap of it is pixel 0 after the caller's Clip, so R = 1 is used.
 */
function reflect(b: GraphBuilder, taps: string, align: boolean, size: string, last: string, k: (v: number) => string): string {
  const lo = k(align ? 0 : -0.5);
  const span = align ? b.op('Max', [last, k(1)]) : size;
  const period = b.mul(span, k(2));
  const s = b.sub(taps, lo);
  const m = b.sub(s, b.mul(period, b.op('Floor', [b.div(s, period)])));
  return b.sub(b.add(lo, span), b.op('Abs', [b.sub(m, span)]));
}

/**
 * Keys' weights for taps f-1..f+2 at offset t = u - f in [0, 1): distances d = t+1, t, 1-t, 2-t
 * (d = t * [1, 1, -1, -1] + [1, 0, 1, 2]), then W(d) by Horner with per-tap coefficients, the outer
 * taps on the 1 < d < 2 branch and the inner ones on d <= 1.
 */
function cubicWeights(b: GraphBuilder, t: string, a: number, alongTaps: (values: number[], a: number) => string): string {
  const d = b.add(b.mul(t, alongTaps([1, 1, -1, -1], a)), alongTaps([1, 0, 1, 2], a));
  const c3 = alongTaps([A, A + 2, A + 2, A], a);
  const c2 = alongTaps([-5 * A, -(A + 3), -(A + 3), -5 * A], a);
  const c1 = alongTaps([8 * A, 0, 0, 8 * A], a);
  const c0 = alongTaps([-4 * A, 1, 1, -4 * A], a);
  return b.add(b.mul(b.add(b.mul(b.add(b.mul(d, c3), c2), d), c1), d), c0);
}
