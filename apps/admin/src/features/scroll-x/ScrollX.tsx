import type { ReactNode } from 'react';

/**
 * A wide table scrolls sideways inside this box, not the whole page (the dashboard works at a
 * phone's 390 px). Focusable and named, so a keyboard user can scroll it with the arrow keys.
 */
export function ScrollX({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="scroll-x" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
