/**
 * Squared norms of a Conv's im2col input patches, per output position and per group: what
 * the proper NormGrad form multiplies the output gradient with (methods.ts normGradProper).
 * Zero padding contributes zeros, as in im2col.
 */
import { attrInt, attrInts, attrString, type Node } from '../../native/onnx/ir.js';
import { badParams } from '../../common/errors.js';

export interface ConvGeometry {
  groups: number;
  cin: number;
  hin: number;
  win: number;
  hout: number;
  wout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Leading (top, left) padding. */
  pt: number;
  pl: number;
}

/**
 * Reads a 1-D or 2-D Conv's attributes. inDims/outDims are per-sample [C, H, W] or [C, L];
 * wDims the weight's [M, C/group, kH, kW].
 */
export function convGeometry(node: Node, inDims: number[], outDims: number[], wDims: number[]): ConvGeometry {
  if (inDims.length !== 3 && inDims.length !== 2) throw badParams(`proper NormGrad supports 1-D and 2-D convs; "${node.name}" has input [${inDims}]`);
  const two = inDims.length === 3;
  const k = attrInts(node, 'kernel_shape') ?? wDims.slice(2);
  const strides = attrInts(node, 'strides') ?? (two ? [1, 1] : [1]);
  const dil = attrInts(node, 'dilations') ?? (two ? [1, 1] : [1]);
  const [hin, win] = two ? [inDims[1]!, inDims[2]!] : [1, inDims[1]!];
  const [hout, wout] = two ? [outDims[1]!, outDims[2]!] : [1, outDims[1]!];
  const [kh, kw] = two ? [k[0]!, k[1]!] : [1, k[0]!];
  const [sh, sw] = two ? [strides[0]!, strides[1]!] : [1, strides[0]!];
  const [dh, dw] = two ? [dil[0]!, dil[1]!] : [1, dil[0]!];
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const lead = (inSize: number, outSize: number, kk: number, s: number, d: number, axisPad: number): number => {
    if (autoPad === 'VALID') return 0;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const total = Math.max(0, (outSize - 1) * s + (kk - 1) * d + 1 - inSize);
      return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    }
    return axisPad;
  };
  const pads = attrInts(node, 'pads') ?? (two ? [0, 0, 0, 0] : [0, 0]);
  const pt = two ? lead(hin, hout, kh, sh, dh, pads[0]!) : 0;
  const pl = two ? lead(win, wout, kw, sw, dw, pads[1]!) : lead(win, wout, kw, sw, dw, pads[0]!);
  return { groups: attrInt(node, 'group', 1), cin: inDims[0]!, hin, win, hout, wout, kh, kw, sh, sw, dh, dw, pt, pl };
}

/** patchSq[g * S + u] = sum over the group's input channels and kernel taps of x^2 at output u. */
export function patchSquaredNorms(x: ArrayLike<number>, offset: number, c: ConvGeometry): Float64Array {
  const S = c.hout * c.wout;
  const HW = c.hin * c.win;
  const perGroup = c.cin / c.groups;
  const out = new Float64Array(c.groups * S);
  const sq = new Float64Array(HW);
  for (let g = 0; g < c.groups; g++) {
    sq.fill(0);
    for (let ch = g * perGroup; ch < (g + 1) * perGroup; ch++) {
      const o = offset + ch * HW;
      for (let i = 0; i < HW; i++) sq[i]! += x[o + i]! * x[o + i]!;
    }
    for (let oy = 0; oy < c.hout; oy++) {
      for (let ox = 0; ox < c.wout; ox++) {
        let s = 0;
        for (let ki = 0; ki < c.kh; ki++) {
          const iy = oy * c.sh - c.pt + ki * c.dh;
          if (iy < 0 || iy >= c.hin) continue;
          for (let kj = 0; kj < c.kw; kj++) {
            const ix = ox * c.sw - c.pl + kj * c.dw;
            if (ix < 0 || ix >= c.win) continue;
            s += sq[iy * c.win + ix]!;
          }
        }
        out[g * S + oy * c.wout + ox] = s;
      }
    }
  }
  return out;
}
