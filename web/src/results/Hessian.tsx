import { Facts, Section, fmt } from '../ui';
import { LinePlot } from '../plots/LinePlot';
import { Bars } from '../plots/Bars';
import { PlotFrame } from '../plots/PlotFrame';
import { notesOf, type ViewProps } from './ResultView';

export function HessianView({ r }: ViewProps) {
  const eig: Array<{ value: number; residual: number }> | null = r.topEigenvalues ?? null;
  return (
    <>
      <Section title="Curvature" testId="hessian-summary">
        <Facts
          rows={[
            ['parameters', fmt(r.parameterCount)],
            ['samples', `${fmt(r.samples)} (${r.lossKind}, ${r.precision})`],
            ['loss', fmt(r.loss)],
            ['gradient norm', fmt(r.gradNorm)],
            [
              'trace',
              r.trace ? (
                <span data-testid="trace">
                  {fmt(r.trace.estimate)} ± {fmt(r.trace.stdErr, 2)} ({r.trace.method}, {r.trace.probes} probes{r.trace.exact ? ', exact' : ''})
                </span>
              ) : (
                '—'
              ),
            ],
            [
              'sharpness',
              r.sharpness
                ? `${fmt(r.sharpness.value)}${r.sharpness.edgeOfStability ? ` vs 2/lr = ${fmt(r.sharpness.edgeOfStability)} (ratio ${fmt(r.sharpness.ratio, 3)})` : ''}`
                : '—',
            ],
            ['Hessian-vector products', fmt(r.hvpCount)],
          ]}
        />
        {notesOf(r)}
      </Section>
      {eig && (
        <Section title={`Eigenvalues (${r.eigenSolver?.method}, ${r.eigenSolver?.which}${r.eigenSolver?.converged ? ', converged' : ', not converged'})`} testId="eigenvalues">
          <table class="list">
            <thead>
              <tr>
                <th>#</th>
                <th>eigenvalue</th>
                <th>residual ‖Hy − λy‖</th>
              </tr>
            </thead>
            <tbody>
              {eig.map((e, i) => (
                <tr>
                  <td>{i + 1}</td>
                  <td>{fmt(e.value, 6)}</td>
                  <td>{fmt(e.residual, 3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {r.density && (
        <PlotFrame title={`Spectral density (SLQ, ${r.density.runs} run(s) × ${r.density.steps} steps; log scale)`} name="hessian-density" testId="density-plot">
          <LinePlot x={r.density.grid} series={[{ label: 'density', values: r.density.density }]} xLabel="eigenvalue" yLabel="density" logY />
        </PlotFrame>
      )}
      {r.perLayer && (
        <PlotFrame title="Per-layer average trace (HAWQ-V2 sensitivity), log scale" name="hessian-per-layer" testId="per-layer">
          <Bars items={r.perLayer.map((l: { name: string; averageTrace: number }) => ({ label: l.name, value: l.averageTrace }))} log />
        </PlotFrame>
      )}
    </>
  );
}
