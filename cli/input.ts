/** What every subcommand shows of long runs (file arguments: common/inputFile.ts). */
/** Progress on stderr, one line per 10 %, for people watching a terminal. */
export function progressPrinter(): (fraction: number, message?: string) => void {
  let lastTenth = -1;
  return (fraction, message) => {
    const tenth = Math.floor(fraction * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    process.stderr.write(`  ${Math.round(fraction * 100)}%${message ? ` ${message}` : ''}\n`);
  };
}
