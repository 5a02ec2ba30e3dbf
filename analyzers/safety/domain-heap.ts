/** Min-heap on lb: the branch-and-bound searches take the domain whose proof is furthest from closing first. */
export class DomainHeap<D extends { lb: number }> {
  private items: D[] = [];
  get size(): number {
    return this.items.length;
  }
  push(d: D): void {
    const a = this.items;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.lb <= d.lb) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = d;
  }
  pop(): D | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.lb < a[l]!.lb ? r : l;
        if (a[c]!.lb >= last.lb) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
  drain(): D[] {
    const all = this.items;
    this.items = [];
    return all;
  }
}

