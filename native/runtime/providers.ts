/**
 * Which execution provider this process uses, decided once and reported. session.ts asks
 * chooseProviders() before creating a session and tells us what happened; runtimeInfo()
 * answers "what is this process running on" for the service and the CLI.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../../common/errors.js';

export type ProviderName = 'cuda' | 'cpu';

export interface RuntimeInfo {
  onnxruntimeVersion: string;
  /** What the binding lists (name, and whether its libraries ship with the package). */
  availableProviders: { name: string; bundled: boolean }[];
  /** 'cuda' or 'cpu' once a session was created; null before the first one. */
  providerInUse: ProviderName | null;
  /** What ONNXSCOPE_EP asked for ('auto' when unset). */
  requested: 'auto' | 'cuda' | 'cpu';
  /** Why CUDA is not in use, when it was tried and failed. */
  fallbackReason: string | null;
  /** Threads set on the last session; null means onnxruntime's default (one per physical core for intra-op). */
  intraOpThreads: number | null;
  interOpThreads: number | null;
}

export interface ProviderPlan {
  tryCuda: boolean;
}

interface State {
  /** Set once CUDA either worked or failed to load; until then we keep trying. */
  cudaVerdict: 'works' | 'unavailable' | null;
  providerInUse: ProviderName | null;
  fallbackReason: string | null;
  intra: number | null;
  inter: number | null;
}

const fresh = (): State => ({ cudaVerdict: null, providerInUse: null, fallbackReason: null, intra: null, inter: null });
let state: State = fresh();

type Logger = (line: string) => void;
// stderr, not stdout: the CLI's --json mode promises exactly one JSON object on stdout.
let log: Logger = (line) => process.stderr.write(`${line}\n`);

/** Routes the one-line provider report elsewhere (the service's pino logger, or a test). */
export function setRuntimeLogger(logger: Logger): void {
  log = logger;
}

function requested(): RuntimeInfo['requested'] {
  const raw = (process.env.ONNXSCOPE_EP ?? 'auto').trim().toLowerCase();
  if (raw === '' || raw === 'auto') return 'auto';
  if (raw === 'cuda' || raw === 'cpu') return raw;
  throw new AppError('BAD_PARAMS', `ONNXSCOPE_EP=${process.env.ONNXSCOPE_EP}: expected auto, cuda or cpu`);
}

export function chooseProviders(): ProviderPlan {
  if (requested() === 'cpu') return { tryCuda: false };
  return { tryCuda: state.cudaVerdict !== 'unavailable' };
}

export function onSessionCreated(provider: ProviderName, intra: number | undefined, inter: number | undefined): void {
  if (provider === 'cuda' && state.cudaVerdict !== 'works') {
    state.cudaVerdict = 'works';
    log('onnxscope runtime: execution provider cuda');
  }
  if (provider === 'cpu' && state.providerInUse === null && requested() === 'cpu') {
    log('onnxscope runtime: execution provider cpu (ONNXSCOPE_EP=cpu)');
  }
  state.providerInUse = provider;
  state.intra = intra ?? null;
  state.inter = inter ?? null;
}

export function onSessionFailed(provider: ProviderName, message: string): void {
  if (provider !== 'cuda' || state.cudaVerdict === 'unavailable') return;
  state.cudaVerdict = 'unavailable';
  state.fallbackReason = message.split('\n')[0]!.slice(0, 300);
  log(`onnxscope runtime: CUDA unavailable (${state.fallbackReason}); falling back to cpu`);
}

export function runtimeInfo(): RuntimeInfo {
  let availableProviders: RuntimeInfo['availableProviders'] = [];
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends;
  if (typeof list === 'function') availableProviders = list().map((b) => ({ name: b.name, bundled: Boolean(b.bundled) }));
  return {
    onnxruntimeVersion: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
    availableProviders,
    providerInUse: state.providerInUse,
    requested: requested(),
    fallbackReason: state.fallbackReason,
    intraOpThreads: state.intra,
    interOpThreads: state.inter,
  };
}

/** Forgets the CUDA verdict (tests, or after the environment changed). */
export function resetProviderChoice(): void {
  state = fresh();
}
