import type { Model } from '../../native/onnx/ir.js';
import { onnxOpset } from '../../native/onnx/ir.js';
import { upgradeOpset } from '../../native/onnx/upgrade.js';

/** Test models are built at opset >= 18 unless a test is about older opsets; those go through the upgrader. */
export function upgradeIfNeeded(model: Model): Model {
  if (onnxOpset(model) >= 18) return model;
  return upgradeOpset(model);
}
