import { useEffect, useState } from 'react';

/** A page of an app served as one index.html, named by the URL hash ('#/', '#/try'). */
export interface HashPage<H extends string> {
  hash: H;
  name: string;
}

/** The page the URL hash names, following hashchange; the first page when the hash names none. */
export function useHashPage<H extends string>(pages: readonly HashPage<H>[]): H {
  const pageOf = (hash: string): H => pages.find((p) => p.hash === hash)?.hash ?? pages[0]!.hash;
  const [page, setPage] = useState(() => pageOf(location.hash));
  useEffect(() => {
    const follow = () => setPage(pageOf(location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, [pages]);
  return page;
}

/** The pages as links, the shown one marked for assistive technology. */
export function PageNav<H extends string>({ pages, current }: { pages: readonly HashPage<H>[]; current: H }) {
  return (
    <nav className="app-nav" aria-label="Pages">
      {pages.map((p) => (
        <a key={p.hash} href={p.hash} aria-current={p.hash === current ? 'page' : undefined}>
          {p.name}
        </a>
      ))}
    </nav>
  );
}
