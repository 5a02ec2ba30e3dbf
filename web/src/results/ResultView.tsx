/** The result of a finished analysis: a view per analyzer, the raw JSON and the artifacts beneath. */
import type { FunctionComponent } from 'preact';
import { Section, fmt } from '../ui';
import { EvaluateView } from './Evaluate';
import { HessianView } from './Hessian';
import { SaliencyView } from './Saliency';
import { BlindspotsView } from './Blindspots';
import { SafetyView } from './Safety';
import { CoherenceView } from './Coherence';
import { LandscapeView } from './Landscape';
import { GradientsView } from './Gradients';
import { WeightsView } from './Weights';

export interface ArtifactRef {
  name: string;
  mimeType: string;
  sizeBytes: number;
  url: string;
}

export interface ViewProps {
  // Results are read as the analyzer wrote them (resultJson); each view knows its own keys.
  r: any;
  artifacts: ArtifactRef[];
  sampleShape: number[] | null;
}

const VIEWS: Record<string, FunctionComponent<ViewProps>> = {
  evaluate: EvaluateView,
  hessian: HessianView,
  saliency: SaliencyView,
  blindspots: BlindspotsView,
  safety: SafetyView,
  coherence: CoherenceView,
  landscape: LandscapeView,
  gradients: GradientsView,
  weights: WeightsView,
};

export function ResultView({ analyzer, result, artifacts, sampleShape }: { analyzer: string; result: unknown; artifacts: ArtifactRef[]; sampleShape: number[] | null }) {
  const View = VIEWS[analyzer];
  return (
    <div data-testid="result">
      {View ? <View r={result} artifacts={artifacts} sampleShape={sampleShape} /> : null}
      {artifacts.length > 0 && (
        <Section title="Artifacts" testId="artifacts">
          <ul>
            {artifacts.map((a) => (
              <li>
                <a href={a.url} target="_blank" rel="noopener">
                  {a.name}
                </a>{' '}
                <span class="hint">
                  {a.mimeType}, {fmt(a.sizeBytes)} B
                </span>
              </li>
            ))}
          </ul>
        </Section>
      )}
      <details>
        <summary>Raw result (JSON)</summary>
        <pre class="json">{JSON.stringify(result, null, 2)}</pre>
      </details>
    </div>
  );
}

export const notesOf = (r: { notes?: string[] }) =>
  r.notes && r.notes.length > 0 ? (
    <ul class="notes">
      {r.notes.map((n) => (
        <li>{n}</li>
      ))}
    </ul>
  ) : null;
