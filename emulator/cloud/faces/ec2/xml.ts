/**
 * Renders EC2 Query responses. Values are objects (elements), arrays (EC2's
 * `<xxxSet><item>…</item></xxxSet>` lists: the array's key names the set) and
 * scalars; undefined is left out.
 */
export type XmlValue = string | number | boolean | undefined | null | XmlObject | XmlValue[];
export interface XmlObject {
  [key: string]: XmlValue;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => escapes[ch] ?? ch);
}

function render(value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) {
      out.push('<item>');
      render(item, out);
      out.push('</item>');
    }
  } else if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (child === undefined || child === null) continue;
      out.push(`<${key}>`);
      render(child, out);
      out.push(`</${key}>`);
    }
  } else {
    out.push(escapeXml(String(value)));
  }
}

const namespace = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function ec2Response(action: string, requestId: string, body: XmlObject): string {
  const out = [`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${namespace}"><requestId>${requestId}</requestId>`];
  render(body, out);
  out.push(`</${action}Response>`);
  return out.join('');
}
