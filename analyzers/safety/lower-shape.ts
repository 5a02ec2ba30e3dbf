/** Lowerings that only relabel the shape (no layer): Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze. */
import { badModel } from '../../common/errors.js';
import { attrInt, attrInts } from '../../native/onnx/ir.js';
import { numel } from '../../native/onnx/tensor.js';
import { intsOf, unsupported, type Lowering } from './lowering.js';

const same: Lowering = ({ shape }) => shape;

const flatten: Lowering = ({ node, shape }) => {
  let axis = attrInt(node, 'axis', 1);
  if (axis < 0) axis += shape.length;
  return [numel(shape.slice(0, axis)), numel(shape.slice(axis))];
};

const reshape: Lowering = ({ node, shape, n, constOf }) => {
  const t = constOf(node.inputs[1]!);
  if (!t) throw unsupported(`Reshape "${node.name}" needs a constant shape`);
  const target = intsOf(t);
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? shape[i]! : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const next = dims.map((d) => (d === -1 ? n / known : d));
  if (numel(next) !== n) throw badModel(`Reshape "${node.name}" to [${target}] does not fit [${shape}]`);
  return next;
};

/** Axes from the opset-13 input or the older attribute. */
const axesOf: (ctx: Parameters<Lowering>[0]) => number[] | undefined = ({ node, constOf }) => {
  const axesT = node.inputs[1] ? constOf(node.inputs[1]) : undefined;
  return axesT ? intsOf(axesT) : attrInts(node, 'axes');
};

const squeeze: Lowering = (ctx) => {
  const { shape } = ctx;
  const axes = (axesOf(ctx) ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a < 0 ? a + shape.length : a));
  return shape.filter((_, i) => !axes.includes(i));
};

const unsqueeze: Lowering = (ctx) => {
  const { shape } = ctx;
  const axes = axesOf(ctx) ?? [];
  const r = shape.length + axes.length;
  const norm = axes.map((a) => (a < 0 ? a + r : a));
  const next: number[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) next.push(norm.includes(i) ? 1 : shape[k++]!);
  return next;
};

export const shapeLowerings: Record<string, Lowering> = {
  Identity: same,
  Dropout: same,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
};
