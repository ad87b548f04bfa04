/**
 * An address as it may appear in logs: the first character of the local part and the domain,
 * so an operator can tell messages apart without the log holding whole addresses.
 * `alice@example.com` → `a***@example.com`.
 */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return '***';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const first = Array.from(local)[0] ?? '';
  return `${first}***@${domain}`;
}
