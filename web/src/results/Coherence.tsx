import { Facts, Section, fmt } from '../ui';
import { Bars } from '../plots/Bars';
import { PlotFrame } from '../plots/PlotFrame';
import { notesOf, type ViewProps } from './ResultView';

const METRICS: Array<[string, string]> = [
  ['alpha', 'α = ‖Σg‖² / (m Σ‖g‖²)'],
  ['mCoherence', 'm-coherence (1 orthogonal … m identical)'],
  ['gradientDiversity', 'gradient diversity'],
  ['gsnrMean', 'GSNR (mean)'],
  ['gsnrMedian', 'GSNR (median)'],
];

export function CoherenceView({ r }: ViewProps) {
  const real = r.real.metrics;
  const rand = r.randomLabels?.metrics;
  return (
    <>
      <Section title={`Gradient coherence over ${r.examples} examples`} testId="coherence">
        <table class="list">
          <thead>
            <tr>
              <th>metric</th>
              <th>real labels</th>
              <th>shuffled labels (control)</th>
            </tr>
          </thead>
          <tbody>
            {METRICS.map(([k, label]) => (
              <tr>
                <td>{label}</td>
                <td>{fmt(real[k])}</td>
                <td>{rand ? fmt(rand[k]) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <Facts rows={[['parameters', fmt(r.parameterCount)], ['loss', r.lossKind], ['precision', r.precision]]} />
        {notesOf(r)}
      </Section>
      <PlotFrame title="m-coherence per layer (real labels)" name="coherence-per-layer">
        <Bars items={r.real.perLayer.map((l: { name: string; mCoherence: number }) => ({ label: l.name, value: l.mCoherence }))} />
      </PlotFrame>
    </>
  );
}
