import { Facts, Section, fmt } from '../ui';
import { Bars } from '../plots/Bars';
import { PlotFrame } from '../plots/PlotFrame';
import { notesOf, type ViewProps } from './ResultView';

export function GradientsView({ r }: ViewProps) {
  return (
    <>
      <Section title="Gradient" testId="gradients">
        <Facts rows={[['loss', `${fmt(r.loss)} (${r.lossKind})`], ['‖∇L‖', fmt(r.gradNorm)], ['parameters', fmt(r.parameterCount)], ['samples', fmt(r.samples)]]} />
        {notesOf(r)}
      </Section>
      <PlotFrame title="Gradient norm per tensor" name="gradient-norms">
        <Bars items={r.tensors.map((t: { name: string; norm: number }) => ({ label: t.name, value: t.norm }))} />
      </PlotFrame>
    </>
  );
}
