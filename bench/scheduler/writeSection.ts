import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Replaces the `## Scheduler` section of a Markdown file (up to the next
 * `## ` heading) with `section`, creating the file with a `# Benchmarks`
 * heading when it is missing. Other sections are left as they are.
 */
export function writeSection(path: string, section: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === '## Scheduler');
  let next: string[];
  if (start === -1) {
    next = [...trimEnd(lines), '', ...section.split('\n')];
  } else {
    let end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
    if (end === -1) end = lines.length;
    const after = lines.slice(end);
    next = [...lines.slice(0, start), ...section.split('\n'), ...(after.length > 0 ? ['', ...after] : [])];
  }
  writeFileSync(path, `${trimEnd(next).join('\n')}\n`);
}

function trimEnd(lines: string[]): string[] {
  const copy = [...lines];
  while (copy.length > 0 && copy.at(-1)!.trim() === '') copy.pop();
  return copy;
}
