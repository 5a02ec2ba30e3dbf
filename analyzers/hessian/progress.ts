/**
 * Progress over the parts of one analysis, in dataset-level Hessian-vector products. Each
 * part is given its worst-case product count up front (its share of the bar); a part that
 * converges early jumps to the end of its share, so the fraction only ever grows.
 */
export class ProductProgress {
  private done = 0;
  private partStart = 0;
  private partCap = 0;
  private label = '';
  constructor(
    private readonly total: number,
    private readonly report: (fraction: number, message: string) => void,
  ) {}

  begin(label: string, cap: number, products: number): void {
    this.label = label;
    this.partCap = cap;
    this.partStart = products;
  }

  /** Called after every product with the running count. */
  tick(products: number): void {
    const inPart = Math.min(products - this.partStart, this.partCap);
    const fraction = this.total > 0 ? Math.min(1, (this.done + inPart) / this.total) : 1;
    this.report(fraction, `${this.label}: ${products} Hessian-vector products`);
  }

  end(): void {
    this.done += this.partCap;
    this.partCap = 0;
  }
}
