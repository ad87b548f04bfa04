import { useEffect, useRef, type ReactNode } from 'react';

let firstPage = true;

/**
 * A page: its heading and the document title. After an in-app navigation the heading takes the
 * focus, so keyboard and screen-reader users start at the top of the new page (as on a page load).
 */
export function Page({ title, heading, children, narrow = false, actions }: { title: string; heading?: ReactNode; children: ReactNode; narrow?: boolean; actions?: ReactNode }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Tessera`;
    if (firstPage) firstPage = false;
    else h1.current?.focus();
  }, [title]);
  return (
    <div className={narrow ? 'narrow' : undefined}>
      <div className="page-head">
        <h1 ref={h1} tabIndex={-1}>
          {heading ?? title}
        </h1>
        {actions}
      </div>
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted" role="status">
      {label}
    </p>
  );
}
