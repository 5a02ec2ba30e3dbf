/** A section of `npm run bench`: a titled table. Each bench file exports a function returning one. */
export interface BenchSection {
  title: string;
  rows: Record<string, string | number>[];
  notes?: string[];
}

/** A plain-text table: one column per key of the first row, right-aligned numbers. */
export function formatSection(s: BenchSection): string {
  const lines = [`## ${s.title}`];
  if (s.rows.length > 0) {
    const cols = Object.keys(s.rows[0]!);
    const cell = (v: string | number | undefined) => (v === undefined ? '' : String(v));
    const widths = cols.map((c) => Math.max(c.length, ...s.rows.map((r) => cell(r[c]).length)));
    const fmt = (vals: (string | number | undefined)[]) =>
      vals.map((v, i) => (typeof v === 'number' ? cell(v).padStart(widths[i]!) : cell(v).padEnd(widths[i]!))).join('  ');
    lines.push(fmt(cols), widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of s.rows) lines.push(fmt(cols.map((c) => r[c])));
  }
  for (const n of s.notes ?? []) lines.push(`  ${n}`);
  return lines.join('\n');
}

/** The median (mean of the middle two for an even count): what every bench reports. */
export { median } from '../common/median.js';
