/** The landscape analyzer's result (mirrored by schema/results/landscape.result.ts). */

export interface Surface1D {
  alphas: number[];
  losses: number[];
  /** null entries for regression. */
  accuracies: Array<number | null>;
}

export interface Surface2D {
  alphas: number[];
  betas: number[];
  /** losses[j][i] at alpha_i d1 + beta_j d2. */
  losses: number[][];
  /** cos(d1, d2): random Gaussian directions in high dimension are nearly orthogonal. */
  directionCosine: number;
}

export interface PathReport {
  ts: number[];
  losses: number[];
  accuracies: Array<number | null>;
  /** max_t L(t) - max(L0, L1). */
  barrier: number;
  /** (L0 + L1) / 2 - L(t*) on the straight line. */
  mcLinear: number;
  tStar: number;
}

export interface CurveReport extends Omit<PathReport, 'mcLinear'> {
  /** Yang et al.'s mode connectivity on the trained Bezier curve. */
  mc: number;
  epochs: number;
  lr: number;
  epochLosses: number[];
  steps: number;
}

export interface LandscapeResult {
  parameterCount: number;
  examples: number;
  lossKind: string;
  precision: string;
  batched: boolean;
  seed: number;
  normalization: string;
  ignoreBiasAndNorm: boolean;
  /** Loss and accuracy at the model itself. */
  loss: number;
  accuracy: number | null;
  /** sha256 of the other model, when given. */
  otherModel: string | null;
  surface1d: Surface1D | null;
  surface2d: Surface2D | null;
  interpolation: PathReport | null;
  curve: CurveReport | null;
  cka: { layer: string; value: number; examples: number; width: number } | null;
  notes: string[];
}
