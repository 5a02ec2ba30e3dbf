/**
 * The one generic checker behind every autodiff test: the directional derivative computed by
 * the derived graph against central finite differences of the original graph.
 *
 *   VJP:  <grad of (u . y), d>            vs  (s(x + h d) - s(x - h d)) / 2h,  s(x) = u . y(x)
 *   HVP:  H d (whole vector)              vs  (g(x + h d) - g(x - h d)) / 2h,  g = grad of s
 *         and symmetry  w . H d = d . H w
 *
 * Step sizes: float64 uses h = 1e-6 (truncation ~h^2, rounding ~1e-16/h: both ~1e-10);
 * float32 uses h = 1e-2 (rounding ~6e-8/1e-2 ~ 1e-5 relative, truncation ~1e-4): tolerances
 * below follow from those.
 */
import assert from 'node:assert/strict';
import { Rng } from '../../common/random.js';
import { serializeModel, cloneModel, type Model } from '../../native/onnx/ir.js';
import { tensor, type Tensor } from '../../native/onnx/tensor.js';
import { isFloatDType } from '../../native/onnx/dtype.js';
import { createSession, runSession, runModelOnce } from '../../native/runtime/session.js';
import { buildGradient } from '../../native/autodiff/gradient.js';
import { buildHvp } from '../../native/autodiff/hvp.js';
import { probeShapes } from '../../native/autodiff/shapes.js';
import { upgradeIfNeeded } from './upgrade-hook.js';

export interface CheckOptions {
  /** Which inputs to differentiate; default every floating-point input. */
  wrt?: string[];
  /** Which outputs form the scalar u . y; default every floating-point output. */
  outputs?: string[];
  seed?: number;
  /** Relative tolerance; default 1e-6 for float64, 2e-2 for float32. */
  rtol?: number;
  atol?: number;
  step?: number;
  /**
   * checkHvp only: accept a Hessian-vector product that is zero. Off by default, because a zero
   * H d passes any relative comparison and would let a wrong (or missing) JVP rule through.
   */
  allowZeroHessian?: boolean;
}

export interface CheckReport {
  analytic: number;
  numeric: number;
  relError: number;
  ok: boolean;
}

function randomLike(t: Tensor, rng: Rng): Tensor {
  const out = tensor(t.dtype, [...t.dims]);
  for (let i = 0; i < out.data.length; i++) (out.data as Float64Array)[i] = rng.normal();
  return out;
}

function axpy(x: Tensor, a: number, d: Tensor): Tensor {
  const out = tensor(x.dtype, [...x.dims]);
  for (let i = 0; i < out.data.length; i++) {
    (out.data as Float64Array)[i] = (x.data as Float64Array)[i]! + a * (d.data as Float64Array)[i]!;
  }
  return out;
}

const dot = (a: Tensor, b: Tensor): number => {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data as Float64Array)[i]! * (b.data as Float64Array)[i]!;
  return s;
};

function floatNames(model: Model, which: 'inputs' | 'outputs', feeds: Record<string, Tensor>): string[] {
  if (which === 'inputs') return model.graph.inputs.filter((v) => isFloatDType(feeds[v.name]!.dtype)).map((v) => v.name);
  return model.graph.outputs.map((v) => v.name);
}


function tolerance(dtype: string, opts: CheckOptions): { rtol: number; atol: number; step: number } {
  const f64 = dtype === 'float64';
  return {
    rtol: opts.rtol ?? (f64 ? 1e-6 : 2e-2),
    atol: opts.atol ?? (f64 ? 1e-8 : 1e-3),
    step: opts.step ?? (f64 ? 1e-6 : 1e-2),
  };
}

const relErr = (a: number, b: number, atol: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), atol);

/** Checks the VJP of every node in `model` through the seeded gradient u . y. */
export async function checkGradient(
  source: Model,
  feeds: Record<string, Tensor>,
  opts: CheckOptions = {},
): Promise<CheckReport> {
  const model = upgradeIfNeeded(source);
  const rng = new Rng(opts.seed ?? 7);
  const wrt = opts.wrt ?? floatNames(model, 'inputs', feeds);
  const outs = opts.outputs ?? floatNames(model, 'outputs', feeds);
  const y0 = await runModelOnce(model, feeds);
  const u: Record<string, Tensor> = {};
  for (const o of outs) u[o] = randomLike(y0[o]!, rng);
  const shapes = await probeShapes(model, () => feeds);
  const [first, ...rest] = outs;
  const grad = buildGradient(
    model,
    { of: first!, seed: `u/${first}`, extraSeeds: rest.map((o) => ({ of: o, seed: `u/${o}` })), wrt },
    shapes,
  );
  const seedFeeds: Record<string, Tensor> = {};
  for (const o of outs) seedFeeds[`u/${o}`] = u[o]!;
  const g = await runModelOnce(grad.model, { ...feeds, ...seedFeeds });
  const d: Record<string, Tensor> = {};
  for (const w of wrt) d[w] = randomLike(feeds[w]!, rng);
  const analytic = wrt.reduce((s, w) => s + dot(g[grad.grads.get(w)!]!, d[w]!), 0);
  const { rtol, atol, step } = tolerance(feeds[wrt[0]!]!.dtype, opts);
  const shifted = async (sign: number) => {
    const f = { ...feeds };
    for (const w of wrt) f[w] = axpy(feeds[w]!, sign * step, d[w]!);
    const y = await runModelOnce(model, f);
    return outs.reduce((s, o) => s + dot(y[o]!, u[o]!), 0);
  };
  const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * step);
  const relError = relErr(analytic, numeric, atol);
  return { analytic, numeric, relError, ok: relError <= rtol };
}

export interface HvpReport {
  relError: number;
  symmetryError: number;
  /** ||H d|| by finite differences: the size of what was compared (0 would make the check vacuous). */
  magnitude: number;
  ok: boolean;
}

/**
 * Checks H.d of s = sum_k reduce_sum(u_k * y_k + y_k * y_k / 2) (u fixed constants) against
 * finite differences of its gradient, and symmetry. The quadratic term makes H d non-zero for
 * every op whose Jacobian is (H = J^T J + sum (u + y) d2y): a linear op alone has d2y = 0, and
 * with a linear head its HVP check would compare zeros. `ok` also requires H d to be non-zero.
 * Needs Mul, Add and ReduceSum rules (they form the head).
 */
export async function checkHvp(source: Model, feeds: Record<string, Tensor>, opts: CheckOptions = {}): Promise<HvpReport> {
  const base = upgradeIfNeeded(source);
  const rng = new Rng(opts.seed ?? 11);
  const wrt = opts.wrt ?? floatNames(base, 'inputs', feeds);
  const outs = opts.outputs ?? floatNames(base, 'outputs', feeds);
  const y0 = await runModelOnce(base, feeds);
  const model = cloneModel(base);
  const terms: string[] = [];
  outs.forEach((o, k) => {
    const uName = `head/u${k}`;
    model.graph.initializers.set(uName, randomLike(y0[o]!, rng));
    const halfName = `head/half${k}`;
    model.graph.initializers.set(halfName, tensor(y0[o]!.dtype, [], [0.5]));
    // (u + y / 2) * y = u y + y^2 / 2
    model.graph.nodes.push({ opType: 'Mul', domain: '', name: `head/halfy${k}`, inputs: [o, halfName], outputs: [`head/hy${k}`], attrs: {} });
    model.graph.nodes.push({ opType: 'Add', domain: '', name: `head/coef${k}`, inputs: [uName, `head/hy${k}`], outputs: [`head/c${k}`], attrs: {} });
    model.graph.nodes.push({ opType: 'Mul', domain: '', name: `head/mul${k}`, inputs: [o, `head/c${k}`], outputs: [`head/p${k}`], attrs: {} });
    model.graph.nodes.push({ opType: 'ReduceSum', domain: '', name: `head/sum${k}`, inputs: [`head/p${k}`], outputs: [`head/s${k}`], attrs: { keepdims: { kind: 'int', value: 0 } } });
    terms.push(`head/s${k}`);
  });
  model.graph.nodes.push({ opType: 'Sum', domain: '', name: 'head/total', inputs: terms, outputs: ['head/s'], attrs: {} });
  model.graph.outputs = [{ name: 'head/s', dtype: y0[outs[0]!]!.dtype, shape: [] }];
  const hvp = await buildHvp(model, 'head/s', wrt, { feeds: () => feeds });
  const d: Record<string, Tensor> = {};
  const w2: Record<string, Tensor> = {};
  for (const w of wrt) {
    d[w] = randomLike(feeds[w]!, rng);
    w2[w] = randomLike(feeds[w]!, rng);
  }
  const session = await createSession(serializeModel(hvp.model));
  const run = async (x: Record<string, Tensor>, v: Record<string, Tensor>) => {
    const f: Record<string, Tensor> = { ...x };
    for (const w of wrt) f[hvp.tangentInputs.get(w)!] = v[w]!;
    return runSession(session, f);
  };
  const { rtol, atol, step } = tolerance(feeds[wrt[0]!]!.dtype, opts);
  const hd = await run(feeds, d);
  const hw = await run(feeds, w2);
  const plus: Record<string, Tensor> = { ...feeds };
  const minus: Record<string, Tensor> = { ...feeds };
  for (const w of wrt) {
    plus[w] = axpy(feeds[w]!, step, d[w]!);
    minus[w] = axpy(feeds[w]!, -step, d[w]!);
  }
  const gp = await run(plus, d);
  const gm = await run(minus, d);
  await session.release();
  let num = 0;
  let den = 0;
  for (const w of wrt) {
    const a = hd[hvp.hvps.get(w)!]!;
    const p = gp[hvp.grads.get(w)!]!;
    const m = gm[hvp.grads.get(w)!]!;
    for (let i = 0; i < a.data.length; i++) {
      const fd = ((p.data as Float64Array)[i]! - (m.data as Float64Array)[i]!) / (2 * step);
      num += (Number((a.data as Float64Array)[i]) - fd) ** 2;
      den += fd ** 2;
    }
  }
  const magnitude = Math.sqrt(den);
  const relError = Math.sqrt(num) / Math.max(magnitude, atol);
  const wHd = wrt.reduce((s, w) => s + dot(w2[w]!, hd[hvp.hvps.get(w)!]!), 0);
  const dHw = wrt.reduce((s, w) => s + dot(d[w]!, hw[hvp.hvps.get(w)!]!), 0);
  const symmetryError = relErr(wHd, dHw, atol);
  const nonVacuous = opts.allowZeroHessian === true || magnitude > atol;
  return { relError, symmetryError, magnitude, ok: relError <= rtol && symmetryError <= rtol && nonVacuous };
}

/**
 * Both checks, asserted, plus a guard that the directional derivative is not trivially zero
 * (an op whose gradient vanished would otherwise pass): the assertion every rule test makes.
 */
export async function assertGradientAndHvp(
  model: Model,
  feeds: Record<string, Tensor>,
  label: string,
  opts: CheckOptions & { minAnalytic?: number } = {},
): Promise<void> {
  const g = await checkGradient(model, feeds, opts);
  assert.ok(g.ok, `${label} gradient: ${JSON.stringify(g)}`);
  assert.ok(Math.abs(g.analytic) > (opts.minAnalytic ?? 1e-3), `${label}: directional derivative is not trivially zero`);
  const h = await checkHvp(model, feeds, opts);
  assert.ok(h.ok, `${label} hvp: ${JSON.stringify(h)}`);
}
