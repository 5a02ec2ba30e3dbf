/** GraphQL type of the hessian analyzer's result (analyzers/hessian/result.ts is the source). */
import type { DensityResult, EigenSolverInfo, EigenvalueResult, HessianResult as Result, SharpnessResult, TraceResult } from '../../analyzers/hessian/result.js';
import type { LayerCurvature } from '../../analyzers/hessian/perlayer.js';
import type { TraceEstimate } from '../../analyzers/hessian/trace.js';
import { bool, float, int, list, nullable, obj, objectType, str } from '../fields.js';
import { defineResultType } from './registry.js';

export const HessianEigenvalue = objectType<EigenvalueResult>('HessianEigenvalue', 'One eigenvalue of the loss Hessian with its measured residual.', {
  value: float('Rayleigh quotient y^T H y of the returned unit vector y.'),
  residual: float('||H y - value y||, measured with one extra Hessian-vector product.'),
});

export const HessianEigenSolver = objectType<EigenSolverInfo>('HessianEigenSolver', 'How the eigenvalues were computed.', {
  method: str('lanczos (full reorthogonalization) or power (PyHessian power iteration with deflation).'),
  which: str('largest or smallest.'),
  tol: float(),
  maxIter: int(),
  iterations: int('Lanczos steps, or power iterations over all eigenvalues.'),
  hvps: int('Hessian-vector products spent on the eigenvalues (including the residual checks).'),
  converged: bool(),
});

export const HessianSharpness = objectType<SharpnessResult>('HessianSharpness', 'Sharpness: the top Hessian eigenvalue, against the edge of stability 2/lr when a learning rate is given.', {
  value: float(),
  residual: float(),
  learningRate: nullable(float()),
  edgeOfStability: nullable(float('2 / learningRate.')),
  ratio: nullable(float('value / (2 / learningRate); above 1 gradient descent is unstable on the local quadratic.')),
});

/** The whole-model trace (TraceResult) and a per-tensor one (a bare TraceEstimate) share this type. */
type AnyTrace = TraceEstimate & Partial<Pick<TraceResult, 'method' | 'hvps'>>;

export const HessianTrace = objectType<AnyTrace>('HessianTrace', 'A stochastic trace estimate with its standard error.', {
  method: nullable(str('hutchinson or hutchpp (absent in per-tensor entries).')),
  estimate: float(),
  stdErr: float('Sample standard deviation of the probes / sqrt(probes); 0 when exact.'),
  probes: int('Hessian-vector products spent.'),
  sketch: int('Columns of Hutch++ Q: the sketch columns kept, plus the Lanczos vectors of the eigenvalue solve when it ran in the same analysis (those cost no products here; 0 for Hutchinson).'),
  exact: bool(),
  hvps: nullable(int('Hessian-vector products spent on the trace (absent in per-tensor entries).')),
});

export const HessianDensity = objectType<DensityResult>('HessianDensity', 'Spectral density by stochastic Lanczos quadrature, Gaussian-broadened on a grid.', {
  runs: int(),
  steps: int(),
  nodes: list(list(float()), 'Per run: the quadrature nodes (Ritz values), ascending.'),
  weights: list(list(float()), 'Per run: the quadrature weights (sum to 1).'),
  grid: list(float()),
  density: list(float(), 'Density on the grid, normalized to integrate to 1.'),
  variance: float('Gaussian variance used for broadening.'),
  hvps: int(),
});

export const HessianLayer = objectType<LayerCurvature>('HessianLayer', "One parameter tensor's diagonal Hessian block.", {
  name: str(),
  shape: list(int()),
  size: int(),
  topEigenvalue: float(),
  residual: float(),
  trace: obj(HessianTrace),
  averageTrace: float('trace / size (HAWQ-V2 sensitivity).'),
  exact: bool('The block was assembled and decomposed exactly.'),
  hvps: int(),
});

export const HessianTensor = objectType<Result['tensors'][number]>('HessianTensor', 'A parameter tensor the analysis differentiated with respect to.', {
  name: str(),
  shape: list(int()),
  size: int(),
});

export const HessianResult = objectType<Result>('HessianResult', 'Result of the hessian analyzer: curvature of the dataset loss with respect to the parameters.', {
  parameterCount: int(),
  samples: int(),
  batchSize: int(),
  batched: bool(),
  lossKind: str(),
  precision: str(),
  loss: nullable(float('Mean loss at the parameters.')),
  gradNorm: nullable(float('Norm of the mean-loss gradient.')),
  seed: int(),
  hvpCount: int('Dataset-level Hessian-vector products, all parts together.'),
  durationMs: float(),
  topEigenvalues: nullable(list(obj(HessianEigenvalue)), 'Extreme eigenvalues, from the extreme inward.'),
  eigenSolver: nullable(obj(HessianEigenSolver)),
  sharpness: nullable(obj(HessianSharpness)),
  trace: nullable(obj(HessianTrace)),
  density: nullable(obj(HessianDensity)),
  perLayer: nullable(list(obj(HessianLayer))),
  perLayerRanking: nullable(list(str()), 'Tensor names by average trace, most sensitive first.'),
  tensors: list(obj(HessianTensor)),
  notes: list(str()),
});

export default defineResultType('hessian', HessianResult);
