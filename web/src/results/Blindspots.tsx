import { Facts, Section, fmt } from '../ui';
import { LinePlot } from '../plots/LinePlot';
import { PlotFrame } from '../plots/PlotFrame';
import type { ViewProps } from './ResultView';

interface Pair {
  source: number;
  target: number;
  sourceClass: number;
  targetClass: number;
  initialConfidence: number;
  finalConfidence: number;
  finalPredicted: number;
  confidenceTrace: number[];
  l2Reduction: number;
}

export function BlindspotsView({ r, artifacts }: ViewProps) {
  const strip = (i: number, p: Pair) => artifacts.find((a) => a.name === `pair_${i}_${p.source}_to_${p.target}.png`)?.url;
  return (
    <>
      <Section title="Blind spots" testId="blindspots-summary">
        <Facts
          rows={[
            ['pairs', r.pairs.length],
            ['mean L2 reduction', fmt(r.meanL2Reduction)],
            ['end points still the source class', `${fmt(r.keptSourceClass * 100, 3)} %`],
          ]}
        />
      </Section>
      <Section title="Strips: source · target · end point (same source confidence)" testId="blindspot-strips">
        {(r.pairs as Pair[]).map((p, i) => (
          <div class="strip">
            {strip(i, p) ? <img src={strip(i, p)} alt={`pair ${i}`} class="overlay" /> : <span class="hint">(no image)</span>}
            <span>
              #{p.source} (class {p.sourceClass}) → #{p.target} (class {p.targetClass}): confidence {fmt(p.initialConfidence, 3)} → {fmt(p.finalConfidence, 3)}, predicted {p.finalPredicted}, L2 −
              {fmt(p.l2Reduction * 100, 3)} %
            </span>
          </div>
        ))}
      </Section>
      {r.pairs.length > 0 && (
        <PlotFrame title="Source-class confidence along the traversal" name="blindspots-confidence">
          <LinePlot
            x={r.pairs[0].confidenceTrace.map((_: number, i: number) => i)}
            series={(r.pairs as Pair[]).slice(0, 5).map((p, i) => ({ label: `pair ${i}`, values: p.confidenceTrace }))}
            xLabel="sampled iteration"
            yLabel="confidence"
          />
        </PlotFrame>
      )}
    </>
  );
}
