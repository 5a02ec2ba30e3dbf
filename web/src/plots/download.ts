/** Every plot downloads as PNG and SVG: canvases are wrapped in an SVG <image>, SVGs drawn onto a canvas. */

function save(blob: Blob, name: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function svgText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return new XMLSerializer().serializeToString(copy);
}

async function svgToCanvas(svg: SVGSVGElement): Promise<HTMLCanvasElement> {
  const { width, height } = svg.getBoundingClientRect();
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(svg))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(width * 2);
  canvas.height = Math.ceil(height * 2);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return canvas;
}

export async function downloadPlot(root: HTMLElement, name: string, kind: 'png' | 'svg') {
  const svg = root.querySelector('svg');
  const canvas = root.querySelector('canvas');
  if (kind === 'svg') {
    if (svg) return save(new Blob([svgText(svg)], { type: 'image/svg+xml' }), `${name}.svg`);
    if (canvas) {
      const { width, height } = canvas;
      const text = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="${canvas.toDataURL('image/png')}"/></svg>`;
      return save(new Blob([text], { type: 'image/svg+xml' }), `${name}.svg`);
    }
    return;
  }
  const source = canvas ?? (svg ? await svgToCanvas(svg) : null);
  source?.toBlob((b) => b && save(b, `${name}.png`), 'image/png');
}
