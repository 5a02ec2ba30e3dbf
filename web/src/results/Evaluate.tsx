import { Facts, Section, fmt } from '../ui';
import { Heatmap } from '../plots/Heatmap';
import { PlotFrame } from '../plots/PlotFrame';
import type { ViewProps } from './ResultView';

export function EvaluateView({ r }: ViewProps) {
  const cm: number[][] | null = r.confusionMatrix ?? null;
  const classes = cm ? cm.map((_, i) => String(r.perClassAccuracy?.[i]?.name ?? i)) : [];
  return (
    <>
      <Section title="Evaluation" testId="evaluate-summary">
        <Facts
          rows={[
            ['accuracy', <span data-testid="accuracy">{r.accuracy === null ? '— (regression)' : `${fmt(r.accuracy * 100, 4)} % (${r.correct} of ${r.count})`}</span>],
            ['loss', `${fmt(r.loss)} (${r.lossKind}, output taken as ${r.outputKind})`],
            ['throughput', `${fmt(r.throughput, 3)} samples/s, batch ${r.batchSize}${r.batched ? '' : ' (one at a time)'}`],
            ['provider', r.provider ?? '—'],
          ]}
        />
        {r.batchingNote && <p class="hint">{r.batchingNote}</p>}
      </Section>
      {cm && (
        <PlotFrame title="Confusion matrix (rows: true class, columns: predicted)" name="confusion-matrix" testId="confusion-matrix">
          <Heatmap values={cm} xLabels={classes} yLabels={classes} xTitle="predicted" yTitle="true" showValues />
        </PlotFrame>
      )}
    </>
  );
}
