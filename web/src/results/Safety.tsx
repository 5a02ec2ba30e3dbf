import { Facts, Section, fmt } from '../ui';
import { SampleImage, imageShape } from '../plots/SampleImage';
import { notesOf, type ViewProps } from './ResultView';

export function SafetyView({ r, sampleShape }: ViewProps) {
  const shape = sampleShape ? imageShape(sampleShape) : null;
  return (
    <>
      <Section title="Safety verdict" testId="safety-verdict">
        <p class={`verdict ${r.status}`} data-testid="verdict">
          {r.status}
        </p>
        <Facts
          rows={[
            ['property', r.property],
            ['checks', `${r.holds} hold, ${r.violated} violated, ${r.unknown} unknown`],
            ['time budget', `${r.timeoutSeconds} s per check`],
            ['margin', `${r.marginAbs} + ${r.marginRel} · ‖a‖₁ · scale`],
            ['bounds', r.boundsIssue ?? 'ran'],
          ]}
        />
        {notesOf(r)}
      </Section>
      <Section title="Checks">
        <table class="list">
          <thead>
            <tr>
              <th>check</th>
              <th>status</th>
              <th>method</th>
              <th>lower bound</th>
              <th>label / predicted</th>
              <th>counterexample</th>
            </tr>
          </thead>
          <tbody>
            {r.checks.map((c: any) => (
              <tr>
                <td>{c.name}</td>
                <td>
                  <span class={`verdict ${c.status}`}>{c.status}</span>
                </td>
                <td>{c.method}</td>
                <td>{fmt(c.lowerBound)}</td>
                <td>
                  {c.label ?? '—'} / {c.predicted ?? '—'}
                </td>
                <td>
                  {c.counterexample ? (
                    shape && c.counterexample.input.length === shape.c * shape.h * shape.w ? (
                      <SampleImage values={c.counterexample.input} shape={shape} scale={2} title={c.counterexample.description ?? 'counterexample'} />
                    ) : (
                      `score ${fmt(c.counterexample.score)}`
                    )
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}
