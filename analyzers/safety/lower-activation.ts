/** Lowerings of the elementwise nonlinearities: Relu, Sigmoid, Tanh (relaxed in bounds.ts). */
import type { Lowering } from './lowering.js';

const elementwise =
  (kind: 'relu' | 'sigmoid' | 'tanh'): Lowering =>
  ({ shape, n, op, push }) => {
    push({ kind, n, op });
    return shape;
  };

export const activationLowerings: Record<string, Lowering> = {
  Relu: elementwise('relu'),
  Sigmoid: elementwise('sigmoid'),
  Tanh: elementwise('tanh'),
};
