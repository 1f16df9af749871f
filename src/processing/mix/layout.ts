import type { LayoutSpec } from '../JobSpec.js';

/** Where one input goes in the mixed picture; drawn in array order (insets last, on top). */
export interface Slot {
  input: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

const even = (v: number): number => Math.max(2, Math.floor(v / 2) * 2);

/**
 * The slots of a layout for `n` inputs on a `width` x `height` picture, `main` first. Pure, so
 * a layout change is a new list the next composed frame uses. Every slot is even-aligned (4:2:0
 * chroma) and inside the picture; each input is scaled and cropped to its slot's aspect.
 */
export function layoutSlots(layout: LayoutSpec, n: number, main: number, width: number, height: number): Slot[] {
  const others = Array.from({ length: n }, (_, i) => i).filter((i) => i !== main);
  switch (layout.type) {
    case 'pip': {
      const w = even(width * layout.size);
      const h = even((w * height) / width);
      const m = even(Math.min(width, height) * 0.03);
      const right = layout.corner.endsWith('right');
      const bottom = layout.corner.startsWith('bottom');
      const slots: Slot[] = [{ input: main, x: 0, y: 0, w: width, h: height }];
      for (const i of others.slice(0, 1)) slots.push({ input: i, x: right ? width - w - m : m, y: bottom ? height - h - m : m, w, h });
      return slots;
    }
    case 'side-by-side': {
      const w = even(width / 2);
      return [main, ...others].slice(0, 2).map((input, k) => ({ input, x: k * w, y: 0, w: k === 0 ? w : width - w, h: height }));
    }
    case 'main-sub': {
      if (n === 1) return [{ input: main, x: 0, y: 0, w: width, h: height }];
      const mw = even((width * 2) / 3);
      const sh = even(height / others.length);
      return [
        { input: main, x: 0, y: 0, w: mw, h: height },
        ...others.map((input, k) => ({ input, x: mw, y: k * sh, w: width - mw, h: k === others.length - 1 ? height - k * sh : sh })),
      ];
    }
    case 'grid': {
      const cols = Math.ceil(Math.sqrt(n));
      const rows = Math.ceil(n / cols);
      const cw = even(width / cols);
      const ch = even(height / rows);
      return [main, ...others].map((input, k) => ({ input, x: (k % cols) * cw, y: Math.floor(k / cols) * ch, w: cw, h: ch }));
    }
  }
}
