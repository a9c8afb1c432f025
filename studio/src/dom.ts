// A few lines instead of a framework: build elements, and SVG elements.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

function fill(el: Element, attrs: Attrs | null | undefined, children: Child[]) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  return fill(document.createElement(tag), attrs, children as Child[]) as HTMLElementTagNameMap[K];
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs?: Attrs | null, ...children: (Child | Child[])[]): SVGElement {
  return fill(document.createElementNS(SVG, tag), attrs, children as Child[]) as SVGElement;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el as T;
}

export function clear(el: Element, ...children: (Child | Child[])[]) {
  el.replaceChildren();
  fill(el, null, children as Child[]);
}
