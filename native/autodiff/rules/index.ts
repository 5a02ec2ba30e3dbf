// Importing this module registers every rule. One file per op family; see ../README.md.
import './arithmetic.js';
import './nondifferentiable.js';
import './reduce-sum.js';
import './reshape-expand.js';
import './transpose.js';
import './matmul.js';
import './gemm.js';
import './conv.js';
import './pad.js';
import './pool.js';
import './batchnorm.js';
import './layernorm.js';
