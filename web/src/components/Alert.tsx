import type { ReactNode } from 'react';
import { AlertIcon, CheckIcon, InfoIcon } from './Icons';

type Kind = 'error' | 'ok' | 'info' | 'warn';

/** A message box. Errors are announced at once (role=alert); the others politely (role=status). */
export function Alert({ kind, children }: { kind: Kind; children: ReactNode }) {
  const Icon = kind === 'error' || kind === 'warn' ? AlertIcon : kind === 'ok' ? CheckIcon : InfoIcon;
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <Icon />
      <div>{children}</div>
    </div>
  );
}
