import { Facts, Section, fmt } from '../ui';
import { SampleImage } from '../plots/SampleImage';
import { LinePlot } from '../plots/LinePlot';
import { PlotFrame } from '../plots/PlotFrame';
import { notesOf, type ViewProps } from './ResultView';

interface SalMap {
  index: number;
  target: number;
  label: number | null;
  predicted: number;
  probability: number;
  layer: string;
  upsampledShape: [number, number];
  upsampled: number[];
  overlay: string | null;
}

export function SaliencyView({ r, artifacts }: ViewProps) {
  const url = (name: string | null) => (name ? artifacts.find((a) => a.name === name)?.url : undefined);
  const m = r.metrics;
  return (
    <>
      <Section title={`Saliency: ${r.method}${r.variant ? ` (${r.variant})` : ''}`}>
        <Facts
          rows={[
            ['layers', r.layers.join(', ')],
            ['explained', `${r.targetMode} class, score tensor ${r.scoreTensor}`],
            ['candidate layers', r.candidateLayers.join(', ')],
          ]}
        />
        {notesOf(r)}
      </Section>
      <Section title="Maps per sample: overlay and raw map" testId="saliency-maps">
        <div class="gallery">
          {(r.maps as SalMap[]).map((s) => (
            <figure data-testid="saliency-map">
              <div class="pair">
                {url(s.overlay) && <img src={url(s.overlay)} alt={`overlay of sample ${s.index}`} data-testid="saliency-overlay" class="overlay" />}
                <SampleImage values={s.upsampled} shape={{ c: 1, h: s.upsampledShape[0], w: s.upsampledShape[1] }} title="normalized map" />
              </div>
              <figcaption>
                #{s.index}: class {s.target} (p = {fmt(s.probability, 3)}), label {s.label ?? '—'}, predicted {s.predicted}
              </figcaption>
            </figure>
          ))}
        </div>
      </Section>
      {m && (
        <Section title="Quality metrics">
          <Facts
            rows={[
              ['class sensitivity (Spearman top vs bottom class, lower is better)', m.classSensitivity ? fmt(m.classSensitivity.mean) : '—'],
              ['deletion AUC (lower is better)', m.deletion ? fmt(m.deletion.meanAuc) : '—'],
              ['insertion AUC (higher is better)', m.insertion ? fmt(m.insertion.meanAuc) : '—'],
              ['randomization: final Spearman', m.randomization ? fmt(m.randomization.finalSpearman) : '—'],
            ]}
          />
          {(m.deletion || m.insertion) && (
            <PlotFrame title="Deletion / insertion curves (mean target probability)" name="saliency-curves">
              <LinePlot
                x={(m.deletion ?? m.insertion).meanCurve.map((_: number, i: number, a: number[]) => i / (a.length - 1))}
                series={[...(m.deletion ? [{ label: 'deletion', values: m.deletion.meanCurve }] : []), ...(m.insertion ? [{ label: 'insertion', values: m.insertion.meanCurve }] : [])]}
                xLabel="fraction of pixels"
                yLabel="probability"
              />
            </PlotFrame>
          )}
        </Section>
      )}
    </>
  );
}
