#!/usr/bin/env node
/**
 * The `onnxscope` command. Each subcommand lives in its own file under commands/ and is listed
 * in commands/index.ts.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { EXIT_BAD_INPUT, EXIT_OK } from './exit.js';

const program = new Command('onnxscope')
  .description('Model analysis for ONNX models: curvature, saliency, blind spots, safety checks, gradient coherence.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError(false)
  .exitOverride();
for (const register of COMMANDS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander's own usage errors (unknown option, missing argument) are bad input: exit 2.
  if (err instanceof CommanderError) {
    const benign = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exit(benign ? EXIT_OK : EXIT_BAD_INPUT);
  }
  throw err;
}
