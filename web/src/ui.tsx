/** Building blocks shared by the pages: drop zone, error line, number formatting, tables. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function ErrorLine({ error }: { error: string | null | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export const fmt = (v: unknown, digits = 4): string => {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return v.toLocaleString('en-US');
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(digits - 1);
  return v.toPrecision(digits);
};

/** A file drop zone that is also a file input (click to choose). */
export function DropZone({ label, accept, onFile, busy, testId }: { label: string; accept: string; onFile: (f: File) => void; busy: boolean; testId: string }) {
  const [over, setOver] = useState(false);
  return (
    <label
      class={`dropzone${over ? ' over' : ''}${busy ? ' busy' : ''}`}
      data-testid={testId}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer?.files[0];
        if (f) onFile(f);
      }}
    >
      <span>{busy ? 'Uploading…' : label}</span>
      <input
        type="file"
        accept={accept}
        disabled={busy}
        onChange={(e) => {
          const input = e.currentTarget;
          const f = input.files?.[0];
          if (f) onFile(f);
          input.value = '';
        }}
      />
    </label>
  );
}

export function Section({ title, children, testId }: { title: string; children: ComponentChildren; testId?: string }) {
  return (
    <section class="card" data-testid={testId}>
      <h3>{title}</h3>
      {children}
    </section>
  );
}

export function Facts({ rows }: { rows: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}

export const shortId = (id: string) => id.slice(0, 8);
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
