/** Every subcommand: one file each, registered here (verify, bench, zoo slot in the same way). */
import type { Command } from 'commander';
import { registerServe } from './serve.js';
import { registerAnalyze } from './analyze.js';
import { registerBench } from './bench.js';
import { registerVerify } from './verify.js';
import { registerZoo } from './zoo.js';
import { registerGate } from './gate.js';
import { registerWorker } from './worker.js';

export const COMMANDS: Array<(program: Command) => void> = [registerServe, registerAnalyze, registerBench, registerVerify, registerZoo, registerGate, registerWorker];
