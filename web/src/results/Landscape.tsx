import { Facts, Section, fmt } from '../ui';
import { LinePlot } from '../plots/LinePlot';
import { Heatmap } from '../plots/Heatmap';
import { PlotFrame } from '../plots/PlotFrame';
import { notesOf, type ViewProps } from './ResultView';

export function LandscapeView({ r }: ViewProps) {
  const s2 = r.surface2d;
  const cell = s2 ? Math.max(6, Math.min(28, Math.floor(420 / s2.alphas.length))) : 0;
  return (
    <>
      <Section title="Loss landscape" testId="landscape">
        <Facts
          rows={[
            ['loss at the model', fmt(r.loss)],
            ['accuracy', r.accuracy === null ? '—' : fmt(r.accuracy)],
            ['directions', `${r.normalization} normalization${r.ignoreBiasAndNorm ? ', biases and norms left out' : ''}, seed ${r.seed}`],
            ['interpolation', r.interpolation ? `barrier ${fmt(r.interpolation.barrier)}, mcLinear ${fmt(r.interpolation.mcLinear)}` : '—'],
            ['Bézier curve', r.curve ? `barrier ${fmt(r.curve.barrier)}, mc ${fmt(r.curve.mc)} after ${r.curve.epochs} epochs` : '—'],
            ['CKA', r.cka ? `${fmt(r.cka.value)} at ${r.cka.layer}` : '—'],
          ]}
        />
        {notesOf(r)}
      </Section>
      {r.surface1d && (
        <PlotFrame title="1D loss along a filter-normalized direction" name="landscape-1d" testId="landscape-1d">
          <LinePlot x={r.surface1d.alphas} series={[{ label: 'loss', values: r.surface1d.losses }]} xLabel="α" yLabel="loss" />
        </PlotFrame>
      )}
      {s2 && (
        <PlotFrame title={`2D loss surface (log colour; cos(d1, d2) = ${fmt(s2.directionCosine, 3)})`} name="landscape-2d" testId="landscape-2d">
          <Heatmap values={[...s2.losses].reverse()} xLabels={s2.alphas.map((a: number) => fmt(a, 2))} yLabels={[...s2.betas].reverse().map((b: number) => fmt(b, 2))} xTitle="α" yTitle="β" cell={cell} log />
        </PlotFrame>
      )}
      {(r.interpolation || r.curve) && (
        <PlotFrame title="Between the two models: straight line and trained Bézier path" name="landscape-paths" testId="landscape-paths">
          <LinePlot
            x={(r.interpolation ?? r.curve).ts}
            series={[...(r.interpolation ? [{ label: 'line', values: r.interpolation.losses }] : []), ...(r.curve ? [{ label: 'Bézier', values: r.curve.losses }] : [])]}
            xLabel="t"
            yLabel="loss"
          />
        </PlotFrame>
      )}
    </>
  );
}
