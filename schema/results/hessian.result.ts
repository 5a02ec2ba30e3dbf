import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'One eigenvalue of the loss Hessian with its measured residual.' })
export class HessianEigenvalue {
  @Field(() => Float, { description: 'Rayleigh quotient y^T H y of the returned unit vector y.' })
  value!: number;

  @Field(() => Float, { description: '||H y - value y||, measured with one extra Hessian-vector product.' })
  residual!: number;
}

@ObjectType({ description: 'How the eigenvalues were computed.' })
export class HessianEigenSolver {
  @Field(() => String, { description: 'lanczos (full reorthogonalization) or power (PyHessian power iteration with deflation).' })
  method!: string;

  @Field(() => String, { description: 'largest or smallest.' })
  which!: string;

  @Field(() => Float)
  tol!: number;

  @Field(() => Int)
  maxIter!: number;

  @Field(() => Int, { description: 'Lanczos steps, or power iterations over all eigenvalues.' })
  iterations!: number;

  @Field(() => Int, { description: 'Hessian-vector products spent on the eigenvalues (including the residual checks).' })
  hvps!: number;

  @Field(() => Boolean)
  converged!: boolean;
}

@ObjectType({ description: 'Sharpness: the top Hessian eigenvalue, against the edge of stability 2/lr when a learning rate is given.' })
export class HessianSharpness {
  @Field(() => Float)
  value!: number;

  @Field(() => Float)
  residual!: number;

  @Field(() => Float, { nullable: true })
  learningRate!: number | null;

  @Field(() => Float, { nullable: true, description: '2 / learningRate.' })
  edgeOfStability!: number | null;

  @Field(() => Float, { nullable: true, description: 'value / (2 / learningRate); above 1 gradient descent is unstable on the local quadratic.' })
  ratio!: number | null;
}

@ObjectType({ description: 'A stochastic trace estimate with its standard error.' })
export class HessianTrace {
  @Field(() => String, { nullable: true, description: 'hutchinson or hutchpp (absent in per-tensor entries).' })
  method?: string;

  @Field(() => Float)
  estimate!: number;

  @Field(() => Float, { description: 'Sample standard deviation of the probes / sqrt(probes); 0 when exact.' })
  stdErr!: number;

  @Field(() => Int, { description: 'Hessian-vector products spent.' })
  probes!: number;

  @Field(() => Int, { description: 'Hutch++ sketch columns kept (0 for Hutchinson).' })
  sketch!: number;

  @Field(() => Boolean)
  exact!: boolean;
}

@ObjectType({ description: 'Spectral density by stochastic Lanczos quadrature, Gaussian-broadened on a grid.' })
export class HessianDensity {
  @Field(() => Int)
  runs!: number;

  @Field(() => Int)
  steps!: number;

  @Field(() => [[Float]], { description: 'Per run: the quadrature nodes (Ritz values), ascending.' })
  nodes!: number[][];

  @Field(() => [[Float]], { description: 'Per run: the quadrature weights (sum to 1).' })
  weights!: number[][];

  @Field(() => [Float])
  grid!: number[];

  @Field(() => [Float], { description: 'Density on the grid, normalized to integrate to 1.' })
  density!: number[];

  @Field(() => Float, { description: 'Gaussian variance used for broadening.' })
  variance!: number;

  @Field(() => Int)
  hvps!: number;
}

@ObjectType({ description: "One parameter tensor's diagonal Hessian block." })
export class HessianLayer {
  @Field(() => String)
  name!: string;

  @Field(() => [Int])
  shape!: number[];

  @Field(() => Int)
  size!: number;

  @Field(() => Float)
  topEigenvalue!: number;

  @Field(() => Float)
  residual!: number;

  @Field(() => HessianTrace)
  trace!: HessianTrace;

  @Field(() => Float, { description: 'trace / size (HAWQ-V2 sensitivity).' })
  averageTrace!: number;

  @Field(() => Boolean, { description: 'The block was assembled and decomposed exactly.' })
  exact!: boolean;

  @Field(() => Int)
  hvps!: number;
}

@ObjectType({ description: 'A parameter tensor the analysis differentiated with respect to.' })
export class HessianTensor {
  @Field(() => String)
  name!: string;

  @Field(() => [Int])
  shape!: number[];

  @Field(() => Int)
  size!: number;
}

@ObjectType({ description: 'Result of the hessian analyzer: curvature of the dataset loss with respect to the parameters.' })
export class HessianResult {
  @Field(() => Int)
  parameterCount!: number;

  @Field(() => Int)
  samples!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Boolean)
  batched!: boolean;

  @Field(() => String)
  lossKind!: string;

  @Field(() => String)
  precision!: string;

  @Field(() => Float, { nullable: true, description: 'Mean loss at the parameters.' })
  loss!: number | null;

  @Field(() => Float, { nullable: true, description: 'Norm of the mean-loss gradient.' })
  gradNorm!: number | null;

  @Field(() => Int)
  seed!: number;

  @Field(() => Int, { description: 'Dataset-level Hessian-vector products, all parts together.' })
  hvpCount!: number;

  @Field(() => Float)
  durationMs!: number;

  @Field(() => [HessianEigenvalue], { nullable: true, description: 'Extreme eigenvalues, from the extreme inward.' })
  topEigenvalues!: HessianEigenvalue[] | null;

  @Field(() => HessianEigenSolver, { nullable: true })
  eigenSolver!: HessianEigenSolver | null;

  @Field(() => HessianSharpness, { nullable: true })
  sharpness!: HessianSharpness | null;

  @Field(() => HessianTrace, { nullable: true })
  trace!: HessianTrace | null;

  @Field(() => HessianDensity, { nullable: true })
  density!: HessianDensity | null;

  @Field(() => [HessianLayer], { nullable: true })
  perLayer!: HessianLayer[] | null;

  @Field(() => [String], { nullable: true, description: 'Tensor names by average trace, most sensitive first.' })
  perLayerRanking!: string[] | null;

  @Field(() => [HessianTensor])
  tensors!: HessianTensor[];

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('hessian', HessianResult);
