/**
 * The layer chain that bound propagation works on (built by network.ts from an ONNX graph, one
 * lowering per op family in lower-*.ts): flat Float64 vectors between layers.
 */

export interface AffineLayer {
  kind: 'affine';
  nIn: number;
  nOut: number;
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float64Array;
  bias: Float64Array;
  op: string;
}

export interface ElementwiseLayer {
  kind: 'relu' | 'sigmoid' | 'tanh';
  n: number;
  op: string;
}

export interface MaxPoolLayer {
  kind: 'maxpool';
  nIn: number;
  nOut: number;
  /** Output o takes the max over idx[ptr[o] .. ptr[o+1]). */
  ptr: Int32Array;
  idx: Int32Array;
  op: string;
}

export type Layer = AffineLayer | ElementwiseLayer | MaxPoolLayer;

export interface Network {
  inputName: string;
  outputName: string;
  /** Input shape with the batch dimension fixed to 1. */
  inputShape: number[];
  outputShape: number[];
  layers: Layer[];
  numInputs: number;
  numOutputs: number;
}
