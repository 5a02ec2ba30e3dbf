/**
 * Ops whose outputs carry no gradient (shapes, comparisons, indices, constants). They are
 * supported: the autodiff passes over them.
 */
import { registerRule } from '../registry.js';

registerRule({
  ops: [
    'Shape', 'Size', 'ConstantOfShape', 'Constant', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual',
    'Not', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'Range', 'EyeLike', 'RandomNormal',
    'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'IsNaN', 'IsInf', 'Sign', 'Floor', 'Ceil', 'Round',
  ],
});
