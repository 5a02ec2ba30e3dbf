/**
 * The recurrent ops RNN, GRU and LSTM unrolled over time into primitives the autodiff already
 * differentiates (MatMul, Add, Mul, Sub, activations, Clip, Split, Concat, Squeeze, Unsqueeze,
 * Transpose), registered with decompose.ts. Equations of the ONNX operator spec (RNN, GRU, LSTM
 * 7/14/22), per direction, per time step t, with `*` a matrix product, `(.)` elementwise:
 *
 *   RNN   Ht = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi)                             default f = Tanh
 *
 *   GRU   zt = f(Xt*(Wz^T) + Ht-1*(Rz^T) + Wbz + Rbz)                       default f = Sigmoid,
 *         rt = f(Xt*(Wr^T) + Ht-1*(Rr^T) + Wbr + Rbr)                               g = Tanh
 *         ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh)          linear_before_reset = 0
 *         ht = g(Xt*(Wh^T) + (rt (.) (Ht-1*(Rh^T) + Rbh)) + Wbh)        linear_before_reset != 0
 *         Ht = (1 - zt) (.) ht + zt (.) Ht-1
 *
 *   LSTM  it = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Pi (.) Ct-1 + Wbi + Rbi)          default f = Sigmoid,
 *         ft = f(Xt*(Wf^T) + Ht-1*(Rf^T) + Pf (.) Ct-1 + Wbf + Rbf)                  g = h = Tanh
 *         ct = g(Xt*(Wc^T) + Ht-1*(Rc^T) + Wbc + Rbc)
 *         Ct = ft (.) Ct-1 + it (.) ct
 *         ot = f(Xt*(Wo^T) + Ht-1*(Ro^T) + Po (.) Ct + Wbo + Rbo)
 *         Ht = ot (.) h(Ct)
 *         input_forget != 0 couples the gates: ft = 1 - it (what ONNX Runtime computes).
 *
 * Gate blocks along W's and R's rows: RNN i; GRU z r h; LSTM i o f c; B = [Wb, Rb]; LSTM's
 * P = [Pi, Po, Pf]. `clip` bounds every gate's pre-activation to [-clip, clip] (the "input of
 * activations"; h(Ct) is not clipped, as in ONNX Runtime). The reverse direction runs t from the
 * last step to the first; Y keeps input time order, Y_h/Y_c hold the state after its last step.
 *
 * Shapes: X is brought to [seq, batch, input] (layout 1 is [batch, seq, input]), X*W^T is one
 * MatMul for all steps, Split into steps [1, batch, G*hidden] that stay rank 3, so every state is
 * [1, batch, hidden] and the outputs are plain Concats. Nothing depends on the batch size. An
 * absent initial_h / initial_c is zero, so the first step simply leaves out the terms it multiplies
 * (Ht-1*R^T, Pi (.) Ct-1, ft (.) Ct-1...): no batch-sized zero tensor is needed. Every Split has
 * explicit sizes, so a sequence length that disagreed with the data would fail loudly at run time
 * rather than split unevenly.
 *
 * Cost: the graph grows linearly with the sequence length (about a dozen ops per LSTM step and
 * direction; its gradient graph ~3.5x, its HVP graph ~11x that). ONNX Runtime's session creation
 * grows faster than linearly on such graphs: for an LSTM with hidden size 32, the HVP session
 * took ~6 s to create at 50 steps and ~2 min at 200 (runs themselves stay fast).
 *
 * Not expanded (the node stays, and the autodiff reports it as UNSUPPORTED_OP) when:
 *  - the sequence length is not static: unrolling needs it, and it must come from the file
 *    (declared shapes, static-shapes.ts), never from one probe run;
 *  - sequence_lens is given and is not a constant equal to the full length for every batch entry:
 *    shorter sequences need per-entry masking and per-entry reversal, not implemented;
 *  - an activation takes activation_alpha/beta (Affine, LeakyRelu, ThresholdedRelu, ScaledTanh,
 *    HardSigmoid, Elu): ONNX Runtime's RNN kernel reads one alpha/beta per direction with default
 *    0, its LSTM/GRU kernels consume them in order of use with per-function defaults, and the spec
 *    says defaults follow the corresponding operators; with no single meaning, no guess;
 *  - hidden_size cannot be read, or an attribute has a value outside the spec.
 */
import type { GraphBuilder } from './builder.js';
import { attrFloat, attrInt, attrString, type Graph, type Node } from './ir.js';
import { constantTensor, type StaticDims } from './static-shapes.js';
import { toNumberArray } from './tensor.js';
import type { DType } from './dtype.js';

/** What the expanders may ask about the graph (built once per expansion pass). */
export interface GraphFacts {
  graph: Graph;
  /** The model's ai.onnx opset (an op's version: GridSample-16 and -20 spell their modes differently). */
  opset: number;
  dtypeOf(name: string): DType;
  dims(name: string): StaticDims | undefined;
}

type Kind = 'RNN' | 'GRU' | 'LSTM';

/** Gate blocks per direction, and activations per direction. */
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const ACTIVATION_COUNT: Record<Kind, number> = { RNN: 1, GRU: 2, LSTM: 3 };
const DEFAULT_ACTIVATIONS: Record<Kind, string[]> = { RNN: ['tanh'], GRU: ['sigmoid', 'tanh'], LSTM: ['sigmoid', 'tanh', 'tanh'] };
/** Activations with no parameters, each written with ops that have autodiff rules. */
const SUPPORTED_ACTIVATIONS = new Set(['relu', 'tanh', 'sigmoid', 'softsign', 'softplus']);
const PARAMETRIC_ACTIVATIONS = new Set(['affine', 'leakyrelu', 'thresholdedrelu', 'scaledtanh', 'hardsigmoid', 'elu']);

interface Plan {
  kind: Kind;
  seq: number;
  hidden: number;
  directions: ('forward' | 'reverse')[];
  batchwise: boolean;
  /** Per direction: the activation names (lower case), ACTIVATION_COUNT of them. */
  activations: string[][];
  clip: number | null;
  linearBeforeReset: boolean;
  inputForget: boolean;
}

const present = (name: string | undefined): name is string => name !== undefined && name !== '';

/** The expansion plan for a recurrent node, or why it cannot be expanded. */
function plan(n: Node, facts: GraphFacts): Plan | string {
  const kind = n.opType as Kind;
  const direction = attrString(n, 'direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) return `direction "${direction}" is not forward, reverse or bidirectional`;
  const directions: Plan['directions'] = direction === 'bidirectional' ? ['forward', 'reverse'] : [direction as 'forward' | 'reverse'];
  const nd = directions.length;
  const layout = attrInt(n, 'layout', 0);
  if (layout !== 0 && layout !== 1) return `layout ${layout} is not 0 or 1`;
  const batchwise = layout === 1;

  const x = facts.dims(n.inputs[0] ?? '');
  if (!x || x.length !== 3) return 'the shape of X is not declared (its sequence length is needed to unroll the recurrence)';
  const seq = x[batchwise ? 1 : 0];
  if (typeof seq !== 'number') return 'the sequence length of X is not static (unrolling needs a fixed number of steps)';
  if (seq < 1) return `sequence length ${seq}: nothing to unroll`;

  let hidden = attrInt(n, 'hidden_size');
  if (hidden === undefined) {
    const r = facts.dims(n.inputs[2] ?? '');
    if (r && r.length === 3 && typeof r[2] === 'number') hidden = r[2];
  }
  if (hidden === undefined || hidden < 1) return 'hidden_size is neither given nor readable from the shape of R';

  const lens = n.inputs[4];
  if (present(lens)) {
    const t = constantTensor(facts.graph, lens);
    if (!t) return 'sequence_lens is computed at run time (only a constant equal to the full sequence length for every batch entry is supported)';
    const values = toNumberArray(t);
    if (values.some((v) => v !== seq)) {
      return `sequence_lens [${values.join(', ')}] is not the full length ${seq} everywhere (shorter sequences would need per-entry masking and reversal, not implemented)`;
    }
  }

  const per = ACTIVATION_COUNT[kind];
  const attr = n.attrs.activations;
  let names = attr?.kind === 'strings' ? attr.value.map((s) => s.toLowerCase()) : attr?.kind === 'string' ? [attr.value.toLowerCase()] : [];
  if (names.length === 0) names = Array.from({ length: nd }, () => DEFAULT_ACTIVATIONS[kind]).flat();
  // The RNN schema's default is ["Tanh", "Tanh"]; a forward RNN uses the first (as ONNX Runtime does).
  if (kind === 'RNN' && nd === 1 && names.length === 2) names = names.slice(0, 1);
  if (names.length !== per * nd) return `activations lists ${names.length} functions, ${per * nd} expected`;
  for (const a of names) {
    if (PARAMETRIC_ACTIVATIONS.has(a)) {
      return `activation ${a} takes activation_alpha/beta, whose reading differs between the spec and ONNX Runtime's kernels (only Relu, Tanh, Sigmoid, Softsign and Softplus are expanded)`;
    }
    if (!SUPPORTED_ACTIVATIONS.has(a)) return `unknown activation "${a}"`;
  }
  const activations = directions.map((_, d) => names.slice(d * per, (d + 1) * per));

  let clip: number | null = null;
  if (n.attrs.clip) {
    clip = attrFloat(n, 'clip', 0);
    if (!(clip > 0)) return `clip ${clip} is not a positive threshold`;
  }
  const outputs = kind === 'LSTM' ? 3 : 2;
  if (n.outputs.length > outputs) return `${n.outputs.length} outputs, at most ${outputs} expected`;
  if (kind === 'LSTM' ? n.inputs.length > 8 : n.inputs.length > 6) return 'more inputs than the spec defines';
  return {
    kind,
    seq,
    hidden,
    directions,
    batchwise,
    activations,
    clip,
    linearBeforeReset: kind === 'GRU' && attrInt(n, 'linear_before_reset', 0) !== 0,
    inputForget: kind === 'LSTM' && attrInt(n, 'input_forget', 0) !== 0,
  };
}

/** Why a recurrent node is left unexpanded, or null when it is expanded. */
export function recurrentRefusal(n: Node, facts: GraphFacts): string | null {
  const p = plan(n, facts);
  return typeof p === 'string' ? p : null;
}

/** Emits the node's ops; throws if called on a node recurrentRefusal refuses. */
export function expandRecurrent(b: GraphBuilder, n: Node, facts: GraphFacts): void {
  const p = plan(n, facts);
  if (typeof p === 'string') throw new Error(`${n.opType} "${n.name}": ${p}`);
  new Unroller(b, n, p, facts.dtypeOf(n.inputs[0]!)).emit();
}

/** One recurrent node's unrolled graph. */
class Unroller {
  private readonly H: number;

  constructor(
    private readonly b: GraphBuilder,
    private readonly n: Node,
    private readonly p: Plan,
    private readonly dtype: DType,
  ) {
    this.H = p.hidden;
  }

  private readonly scalars = new Map<number, string>();

  /** A scalar constant of X's dtype, one initializer per value (every step shares it). */
  private k(value: number): string {
    let name = this.scalars.get(value);
    if (!name) this.scalars.set(value, (name = this.b.scalar(value, this.dtype, 'rnn_const')));
    return name;
  }

  /** Split along `axis` into pieces of the given sizes (one piece: the tensor itself). */
  private split(x: string, axis: number, sizes: number[]): string[] {
    if (sizes.length === 1) return [x];
    return this.b.node('Split', [x, this.b.int64s(sizes, 'split')], { axis }, sizes.length);
  }

  /** A [num_directions, ...] tensor cut into per-direction [1, ...] slices. */
  private perDirection(x: string): string[] {
    return this.split(x, 0, this.p.directions.map(() => 1));
  }

  private clip(x: string): string {
    if (this.p.clip === null) return x;
    return this.b.op('Clip', [x, this.k(-this.p.clip), this.k(this.p.clip)]);
  }

  private activate(name: string, x: string): string {
    const b = this.b;
    switch (name) {
      case 'relu':
        return b.op('Relu', [x]);
      case 'tanh':
        return b.op('Tanh', [x]);
      case 'sigmoid':
        return b.op('Sigmoid', [x]);
      case 'softplus':
        // ONNX Runtime has no Softplus kernel for opset >= 22: there, the stable
        // log(1 + e^x) = Relu(x) + log(1 + e^-|x|).
        if (b.opset < 22) return b.op('Softplus', [x]);
        return b.add(b.op('Relu', [x]), b.op('Log', [b.add(this.k(1), b.op('Exp', [b.neg(b.op('Abs', [x]))]))]));
      case 'softsign': // x / (1 + |x|)
        return b.div(x, b.add(this.k(1), b.op('Abs', [x])));
      default:
        throw new Error(`activation ${name}`);
    }
  }

  /** f(clip(x)): every gate's activation sees its clipped pre-activation. */
  private gate(name: string, x: string): string {
    return this.activate(name, this.clip(x));
  }

  /** [G*H, K] -> its transpose [K, G*H], so a row vector times it is x * W^T. */
  private transposed(w: string): string {
    return this.b.op('Transpose', [w], { perm: [1, 0] });
  }

  private addOptional(a: string, c: string | null): string {
    return c ? this.b.add(a, c) : a;
  }

  emit(): void {
    const { b, n, p, H } = this;
    const [X, W, R, B, , initialH, initialC, P] = n.inputs;
    const G = GATES[p.kind];
    // [seq, batch, input] whatever the layout.
    const x = p.batchwise ? b.op('Transpose', [X!], { perm: [1, 0, 2] }) : X!;
    // Initial states arrive as [num_directions, batch, hidden] (layout 1: [batch, num_directions, hidden]).
    const stateParts = (s: string | undefined): (string | null)[] => {
      if (!present(s)) return p.directions.map(() => null);
      return this.perDirection(p.batchwise ? b.op('Transpose', [s], { perm: [1, 0, 2] }) : s);
    };
    const Ws = this.perDirection(W!);
    const Rs = this.perDirection(R!);
    const Bs = present(B) ? this.perDirection(B) : null;
    const Ps = present(P) && p.kind === 'LSTM' ? this.perDirection(P) : null;
    const h0 = stateParts(initialH);
    const c0 = p.kind === 'LSTM' ? stateParts(initialC) : p.directions.map(() => null);

    const ys: string[] = [];
    const hLast: string[] = [];
    const cLast: string[] = [];
    p.directions.forEach((dir, d) => {
      const w = this.transposed(b.squeeze(Ws[d]!, [0])); // [input, G*H]
      const r = b.squeeze(Rs[d]!, [0]); // [G*H, H]
      let bias: string | null = null; // added to X*W^T: Wb + Rb, less what must stay inside (GRU)
      let rbh: string | null = null; // GRU linear_before_reset: Rbh, added inside rt (.) (...)
      if (Bs) {
        const [wb, rb] = this.split(b.squeeze(Bs[d]!, [0]), 0, [G * H, G * H]);
        if (p.linearBeforeReset) {
          const [rbzr, rbhPart] = this.split(rb!, 0, [2 * H, H]);
          const [wbzr, wbh] = this.split(wb!, 0, [2 * H, H]);
          bias = b.op('Concat', [b.add(wbzr!, rbzr!), wbh!], { axis: 0 });
          rbh = rbhPart!;
        } else {
          bias = b.add(wb!, rb!);
        }
      }
      const xw = this.addOptional(b.op('MatMul', [x, w]), bias); // [seq, batch, G*H]
      const steps = this.split(xw, 0, Array.from({ length: p.seq }, () => 1)); // each [1, batch, G*H]
      const peep = Ps ? this.split(b.squeeze(Ps[d]!, [0]), 0, [H, H, H]) : null; // Pi, Po, Pf
      const step = this.stepFunction(r, rbh, peep, p.activations[d]!);

      const hs = new Array<string>(p.seq);
      let h = h0[d] ?? null;
      let c = c0[d] ?? null;
      const order = Array.from({ length: p.seq }, (_, t) => (dir === 'forward' ? t : p.seq - 1 - t));
      for (const t of order) {
        [h, c] = step(steps[t]!, h, c);
        hs[t] = h;
      }
      ys.push(p.seq === 1 ? hs[0]! : b.op('Concat', hs, { axis: 0 })); // [seq, batch, H]
      hLast.push(h!);
      if (c) cLast.push(c);
    });

    const [yName, yhName, ycName] = n.outputs;
    if (present(yName)) {
      const perDir = ys.map((y) => b.unsqueeze(y, [1])); // [seq, 1, batch, H]
      const y = perDir.length === 1 ? perDir[0]! : b.op('Concat', perDir, { axis: 1 });
      this.write(p.batchwise ? b.op('Transpose', [y], { perm: [2, 0, 1, 3] }) : y, yName);
    }
    const states = (parts: string[]) => {
      const s = parts.length === 1 ? parts[0]! : b.op('Concat', parts, { axis: 0 }); // [nd, batch, H]
      return p.batchwise ? b.op('Transpose', [s], { perm: [1, 0, 2] }) : s;
    };
    if (present(yhName)) this.write(states(hLast), yhName);
    if (present(ycName)) this.write(states(cLast), ycName);
  }

  private write(from: string, to: string): void {
    this.b.graph.nodes.push({ opType: 'Identity', domain: '', name: this.b.fresh('decomposed'), inputs: [from], outputs: [to], attrs: {} });
  }

  /**
   * One time step: (X_t W^T + biases [1, batch, G*H], H_{t-1}, C_{t-1}) -> (H_t, C_t), states
   * [1, batch, H] or null for a zero initial state.
   */
  private stepFunction(
    r: string,
    rbh: string | null,
    peep: string[] | null,
    acts: string[],
  ): (xt: string, h: string | null, c: string | null) => [string, string | null] {
    const { b, H } = this;
    const mm = (a: string, w: string) => b.op('MatMul', [a, w]);
    switch (this.p.kind) {
      case 'RNN': {
        const rT = this.transposed(r);
        return (xt, h) => [this.gate(acts[0]!, this.addOptional(xt, h && mm(h, rT))), null];
      }
      case 'GRU': {
        const [rzr, rh] = this.split(r, 0, [2 * H, H]);
        const rzrT = this.transposed(rzr!);
        const rhT = this.transposed(rh!);
        const [f, g] = acts as [string, string];
        return (xt, h) => {
          const [xz, xr, xh] = this.split(xt, 2, [H, H, H]);
          let hz: string | null = null;
          let hr: string | null = null;
          if (h) [hz, hr] = this.split(mm(h, rzrT), 2, [H, H]);
          const z = this.gate(f, this.addOptional(xz!, hz));
          const rt = this.gate(f, this.addOptional(xr!, hr));
          let inner: string | null; // the recurrent part of ht's pre-activation
          if (this.p.linearBeforeReset) {
            const lin = h ? this.addOptional(mm(h, rhT), rbh) : rbh; // Ht-1*(Rh^T) + Rbh
            inner = lin && b.mul(rt, lin);
          } else {
            inner = h && mm(b.mul(rt, h), rhT); // (rt (.) Ht-1)*(Rh^T)
          }
          const ht = this.gate(g, this.addOptional(xh!, inner));
          const keep = b.mul(b.sub(this.k(1), z), ht); // (1 - zt) (.) ht
          return [h ? b.add(keep, b.mul(z, h)) : keep, null];
        };
      }
      case 'LSTM': {
        const rT = this.transposed(r);
        const [f, g, hAct] = acts as [string, string, string];
        const [pi, po, pf] = peep ?? [null, null, null];
        const peephole = (pw: string | null | undefined, c: string | null) => (pw && c ? b.mul(pw, c) : null);
        return (xt, h, c) => {
          const pre = this.addOptional(xt, h && mm(h, rT));
          const [xi, xo, xf, xc] = this.split(pre, 2, [H, H, H, H]);
          const i = this.gate(f, this.addOptional(xi!, peephole(pi, c)));
          const fg = this.p.inputForget ? b.sub(this.k(1), i) : this.gate(f, this.addOptional(xf!, peephole(pf, c)));
          const cand = this.gate(g, xc!);
          const cNew = this.addOptional(b.mul(i, cand), c && b.mul(fg, c)); // Ct = ft (.) Ct-1 + it (.) ct
          const o = this.gate(f, this.addOptional(xo!, peephole(po, cNew))); // Po (.) Ct: the new cell
          return [b.mul(o, this.activate(hAct, cNew)), cNew];
        };
      }
    }
  }
}
