/**
 * The parameters every loss-based analyzer shares (loss kind, which parameter tensors,
 * precision), and their mapping to the autodiff's PrepareOptions. One definition, so the same
 * name means the same thing in every analyzer.
 */
import type { ParamSpec, ParamValues } from '../types.js';
import type { PrepareOptions } from '../../native/autodiff/index.js';

export const LOSS_PARAM: ParamSpec = {
  name: 'loss',
  type: 'enum',
  choices: ['auto', 'mse'],
  default: 'auto',
  description: 'auto follows the output kind (cross-entropy on logits, NLL on (log-)probabilities, BCE on one sigmoid unit); mse for regression.',
};

export const PARAMETERS_PARAM: ParamSpec = {
  name: 'parameters',
  type: 'string',
  description: 'Regular expression selecting parameter tensors by name (default: all parameters).',
};

export const PRECISION_PARAM: ParamSpec = {
  name: 'precision',
  type: 'enum',
  choices: ['auto', 'float32', 'float64'],
  default: 'auto',
  description: 'auto: float64 where ONNX Runtime has float64 kernels for every op, else float32.',
};

export const OUTPUT_PARAM: ParamSpec = {
  name: 'output',
  type: 'string',
  description: 'Which model output the loss reads, for graphs with several (default: the first).',
};

export const LOSS_MODEL_PARAMS: ParamSpec[] = [LOSS_PARAM, PARAMETERS_PARAM, PRECISION_PARAM, OUTPUT_PARAM];

export interface LossModelParams extends ParamValues {
  loss: string;
  parameters?: string;
  precision: string;
  output?: string;
}

export function lossModelOptions(params: LossModelParams): PrepareOptions {
  return {
    loss: params.loss === 'mse' ? 'mse' : 'auto',
    ...(params.parameters ? { parameters: { pattern: params.parameters } } : {}),
    precision: params.precision as 'auto' | 'float32' | 'float64',
    ...(params.output ? { output: params.output } : {}),
  };
}
