/** Escaping for text and attribute values in HTML and SVG: every agent-supplied string goes through it. */
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  // C0 controls other than tab/LF/CR are not allowed in HTML text; show them as U+FFFD.
  return value.replace(/[&<>"']/g, (c) => MAP[c] as string).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd');
}
