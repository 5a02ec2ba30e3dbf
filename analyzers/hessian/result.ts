/** The hessian analyzer's result (plain JSON; schema/results/hessian.result.ts is its GraphQL type). */
import type { LayerCurvature } from './perlayer.js';

export interface EigenvalueResult {
  value: number;
  /** ||H y - value y|| for the returned unit vector y, measured with one extra product. */
  residual: number;
}

export interface EigenSolverInfo {
  method: 'lanczos' | 'power';
  which: 'largest' | 'smallest';
  tol: number;
  maxIter: number;
  /** Lanczos steps, or power iterations over all eigenvalues. */
  iterations: number;
  hvps: number;
  converged: boolean;
}

export interface SharpnessResult {
  /** The top eigenvalue (power iteration: the one of largest magnitude, as PyHessian). */
  value: number;
  residual: number;
  learningRate: number | null;
  /** 2 / learningRate: gradient descent is stable on a quadratic only below it. */
  edgeOfStability: number | null;
  /** value / (2 / learningRate). */
  ratio: number | null;
}

export interface TraceResult {
  method: 'hutchinson' | 'hutchpp';
  estimate: number;
  /** Sample standard deviation of the probes / sqrt(probes) (Hutch++: of its residual part). */
  stdErr: number;
  /** Hessian-vector products spent (Hutch++: including 2 x sketch; a reused Lanczos basis costs none). */
  probes: number;
  /** Columns of Hutch++'s Q: sketch columns kept plus the Lanczos basis when reused. */
  sketch: number;
  exact: boolean;
  hvps: number;
}

export interface DensityResult {
  runs: number;
  steps: number;
  /** Per run: Ritz values (SLQ nodes), ascending, and their quadrature weights. */
  nodes: number[][];
  weights: number[][];
  grid: number[];
  density: number[];
  /** Gaussian variance used for broadening. */
  variance: number;
  hvps: number;
}

export interface HessianResult {
  parameterCount: number;
  samples: number;
  batchSize: number;
  batched: boolean;
  lossKind: string;
  precision: string;
  /** Mean loss and gradient norm at the parameters (from the first product's pass). */
  loss: number | null;
  gradNorm: number | null;
  seed: number;
  /** Dataset-level Hessian-vector products, all parts together. */
  hvpCount: number;
  durationMs: number;
  topEigenvalues: EigenvalueResult[] | null;
  eigenSolver: EigenSolverInfo | null;
  sharpness: SharpnessResult | null;
  trace: TraceResult | null;
  density: DensityResult | null;
  perLayer: LayerCurvature[] | null;
  /** Tensor names by average trace, most sensitive first (HAWQ-V2). */
  perLayerRanking: string[] | null;
  tensors: { name: string; shape: number[]; size: number }[];
  notes: string[];
}
