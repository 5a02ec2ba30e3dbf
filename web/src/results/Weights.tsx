import { Facts, Section, fmt } from '../ui';
import { Bars } from '../plots/Bars';
import { PlotFrame } from '../plots/PlotFrame';
import { notesOf, type ViewProps } from './ResultView';

interface Layer {
  name: string;
  alpha: number | null;
  numSpikes: number;
  correlationTrap: boolean;
}

/** HTSR weight spectra: model summary, per-layer power-law alpha (2..6 reads as well trained), the ESD plots. */
export function WeightsView({ r, artifacts }: ViewProps) {
  const layers = r.layers as Layer[];
  const summary = Object.entries(r.summary as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number');
  const esd = artifacts.filter((a) => a.name.startsWith('esd_') && a.mimeType === 'image/svg+xml');
  return (
    <>
      <Section title={`Weight spectra of ${layers.length} layers (${fmt(r.parameterCount)} weights)`} testId="weights-summary">
        <Facts rows={summary.map(([k, v]) => [k, fmt(v)])} />
        {notesOf(r)}
      </Section>
      <PlotFrame title="Power-law alpha per layer (HTSR: 2–6 well trained, > 6 under-trained, < 2 over-fitted)" name="weights-alpha">
        <Bars items={layers.filter((l) => l.alpha !== null).map((l) => ({ label: `${l.name}${l.correlationTrap ? ' (trap)' : ''}`, value: l.alpha! }))} />
      </PlotFrame>
      {esd.length > 0 && (
        <Section title="Empirical spectral densities (log-log) with the fitted power law and the shuffled control">
          <div class="gallery">
            {esd.map((a) => (
              <img src={a.url} alt={a.name} class="esd" />
            ))}
          </div>
        </Section>
      )}
    </>
  );
}
