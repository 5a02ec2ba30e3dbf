import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';
import { downloadPlot } from './download';

/** A titled plot with PNG and SVG download buttons. */
export function PlotFrame({ title, name, children, testId }: { title: string; name: string; children: ComponentChildren; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  return (
    <figure class="plot" data-testid={testId}>
      <figcaption>
        {title}
        <span class="downloads">
          <button type="button" onClick={() => ref.current && downloadPlot(ref.current, name, 'png')}>
            PNG
          </button>
          <button type="button" onClick={() => ref.current && downloadPlot(ref.current, name, 'svg')}>
            SVG
          </button>
        </span>
      </figcaption>
      <div ref={ref}>{children}</div>
    </figure>
  );
}
