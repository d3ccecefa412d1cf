import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADING = '## Store';

/**
 * Replaces the `## Store` section of a Markdown file (up to the next `## `
 * heading) with `section`, or appends it when missing. Other sections are
 * left as they are; the file is read just before it is written, so that
 * edits others made meanwhile survive.
 */
export function writeStoreSection(path: string, section: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = text.replace(/\n+$/, '').split('\n');
  const start = lines.findIndex((line) => line.trim() === HEADING);
  let next: string[];
  if (start === -1) {
    next = [...lines, '', ...section.split('\n')];
  } else {
    let end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
    if (end === -1) end = lines.length;
    const after = lines.slice(end);
    next = [...lines.slice(0, start), ...section.split('\n'), ...(after.length > 0 ? ['', ...after] : [])];
  }
  writeFileSync(path, `${next.join('\n').replace(/\n+$/, '')}\n`);
}
