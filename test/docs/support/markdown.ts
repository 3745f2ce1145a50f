import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root: links resolve inside it, and nowhere else. */
export const ROOT = path.resolve(__dirname, '../../..');

/** The documentation the checks cover: the README and every page under docs/. */
export function documentationFiles(root: string = ROOT): string[] {
  const pages: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.md')) pages.push(full);
    }
  };
  if (fs.existsSync(path.join(root, 'docs'))) walk(path.join(root, 'docs'));
  return [path.join(root, 'README.md'), ...pages.sort()];
}

export interface MarkdownLine {
  /** 1-based, for messages. */
  number: number;
  text: string;
  /** Inside a fenced code block (the fence lines themselves count as code too). */
  inCode: boolean;
}

const FENCE = /^\s*(`{3,}|~{3,})/;

/** Every line, marked in or out of fenced code (fences may be indented inside list items). */
export function markdownLines(markdown: string): MarkdownLine[] {
  let open: string | undefined;
  return markdown.split('\n').map((text, index) => {
    const fence = FENCE.exec(text)?.[1];
    if (open === undefined && fence) {
      open = fence;
      return { number: index + 1, text, inCode: true };
    }
    if (open !== undefined) {
      // A fence closes on the same character, at least as long, with nothing after it.
      if (fence && fence[0] === open[0] && fence.length >= open.length && text.trim() === fence) {
        open = undefined;
      }
      return { number: index + 1, text, inCode: true };
    }
    return { number: index + 1, text, inCode: false };
  });
}

/**
 * Characters GitHub's heading slugs drop (github-slugger 2, the algorithm GitHub's own
 * anchors follow): other numbers, punctuation but `-` and `_`, symbols, controls, format and
 * unassigned code points, separators but the space; letters of any script stay.
 */
const SLUG_DROPPED = /[\p{No}\p{Pd}\p{Pe}\p{Pf}\p{Pi}\p{Po}\p{Ps}\p{S}\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Z}]/gu;
const ALPHABETIC = /\p{Alphabetic}/u;

/** One heading text's slug, before duplicates are numbered. */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(SLUG_DROPPED, (char) => (char === '-' || char === ' ' || ALPHABETIC.test(char) ? char : ''))
    .replace(/ /g, '-');
}

/** The text GitHub renders for a heading's inline markdown: the slug is made from it. */
export function headingText(source: string): string {
  const parts = source.split(/(`+[^`]*`+)/);
  return parts
    .map((part, index) => {
      if (index % 2 === 1) return part.replace(/^`+\s?|\s?`+$/g, '');
      return part
        .replace(/!\[([^\]]*)\]\([^)]*\)/g, '') // images render no text
        .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links render their text
        .replace(/<[^>]+>/g, '') // inline HTML renders no text
        .replace(/\\([\\`*_{}[\]()#+\-.!|])/g, '$1') // backslash escapes
        .replace(/(\*\*|__)(.+?)\1/g, '$2')
        .replace(/(^|[^\w*])[*_]([^*_]+)[*_](?=[^\w*]|$)/g, '$1$2');
    })
    .join('')
    .trim();
}

const ATX_HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const HTML_ANCHOR = /<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"/g;

/** Every anchor a page offers: its headings' slugs (duplicates numbered as GitHub does) and `<a id>`s. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const occurrences = new Map<string, number>();
  for (const line of markdownLines(markdown)) {
    if (line.inCode) continue;
    for (const match of line.text.matchAll(HTML_ANCHOR)) anchors.add(match[1]);
    const heading = ATX_HEADING.exec(line.text);
    if (!heading) continue;
    // github-slugger's numbering: the second "usage" is usage-1, even next to a heading "usage 1".
    const base = githubSlug(headingText(heading[1]));
    let slug = base;
    while (occurrences.has(slug)) {
      const count = (occurrences.get(base) ?? 0) + 1;
      occurrences.set(base, count);
      slug = `${base}-${count}`;
    }
    occurrences.set(slug, 0);
    anchors.add(slug);
  }
  return anchors;
}

export interface MarkdownLink {
  target: string;
  line: number;
}

const INLINE_LINK = /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/;

/** Link and image targets outside code: inline `[text](target)` and `[label]: target` definitions. */
export function linksOf(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const line of markdownLines(markdown)) {
    if (line.inCode) continue;
    // Code spans show brackets literally: blank them out, keeping the line's shape.
    const text = line.text.replace(/(`+)[^`]*?\1/g, (span) => 'x'.repeat(span.length));
    const definition = REFERENCE_DEFINITION.exec(text);
    if (definition) links.push({ target: definition[1], line: line.number });
    for (const match of text.matchAll(INLINE_LINK)) links.push({ target: match[1], line: line.number });
  }
  return links;
}

const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

/**
 * Every broken relative link or anchor of the given files, as `file:line: target: why`.
 * External links (any scheme) are not fetched: the tests never reach the network.
 */
export function brokenLinks(files: string[], root: string = ROOT): string[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOfFile = (file: string) => {
    let anchors = anchorCache.get(file);
    if (!anchors) {
      anchors = anchorsOf(fs.readFileSync(file, 'utf8'));
      anchorCache.set(file, anchors);
    }
    return anchors;
  };
  const problems: string[] = [];
  for (const file of files) {
    const where = (line: number) => `${path.relative(root, file)}:${line}`;
    for (const link of linksOf(fs.readFileSync(file, 'utf8'))) {
      if (EXTERNAL.test(link.target)) continue;
      const hashAt = link.target.indexOf('#');
      const pathPart = hashAt === -1 ? link.target : link.target.slice(0, hashAt);
      const anchor = hashAt === -1 ? undefined : decodeURIComponent(link.target.slice(hashAt + 1));
      const report = (why: string) => problems.push(`${where(link.line)}: ${link.target}: ${why}`);
      if (pathPart.startsWith('/')) {
        report('absolute path: write it relative to the page');
        continue;
      }
      const target = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
      if (path.relative(root, target).startsWith('..')) {
        report('points outside the repository');
        continue;
      }
      if (!fs.existsSync(target)) {
        report('no such file or directory');
        continue;
      }
      if (anchor === undefined) continue;
      if (!target.endsWith('.md')) {
        report('an anchor into a file that is not markdown');
        continue;
      }
      if (!anchorsOfFile(target).has(anchor))
        report(`no heading or anchor "${anchor}" in ${path.relative(root, target)}`);
    }
  }
  return problems;
}
