import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  anchorsOf,
  brokenLinks,
  documentationFiles,
  githubSlug,
  headingText,
  linksOf,
  ROOT,
} from './support/markdown';

const slugOf = (heading: string) => githubSlug(headingText(heading));

/**
 * The table of pages under a page's `## <section>` heading: each row's title, the page it links
 * (relative to the repository, so the README's `docs/x.md` and docs/README.md's `x.md` compare
 * equal) and its description.
 */
function pageMap(file: string, section: string): { title: string; page: string; description: string }[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const start = lines.indexOf(`## ${section}`);
  if (start === -1) throw new Error(`${path.relative(ROOT, file)} has no "## ${section}"`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  const rows: { title: string; page: string; description: string }[] = [];
  for (const line of lines.slice(start + 1, end === -1 ? undefined : end)) {
    const row = /^\|\s*\[([^\]]+)\]\(([^)#]+)\)\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (!row) continue;
    const page = path.relative(ROOT, path.resolve(path.dirname(file), row[2]));
    rows.push({ title: row[1], page, description: row[3] });
  }
  return rows;
}

describe('GitHub heading slugs', () => {
  it.each([
    ["One-time setup: AppFlow's database user", 'one-time-setup-appflows-database-user'],
    ['Is my table complete? verify', 'is-my-table-complete-verify'],
    ['Is my table complete? `npm run objects -- verify`', 'is-my-table-complete-npm-run-objects----verify'],
    ['Sizing `mapConcurrency`', 'sizing-mapconcurrency'],
    ['Consolidation: `consolidate_object`', 'consolidation-consolidate_object'],
    ['Look at the stand-ins: --keep', 'look-at-the-stand-ins---keep'],
    ['Rerun, redrive, backfill', 'rerun-redrive-backfill'],
    ['Quota guard: the API-limits secret', 'quota-guard-the-api-limits-secret'],
    ['OAuth 2.0 JWT bearer flow (recommended)', 'oauth-20-jwt-bearer-flow-recommended'],
    ['😄 unicode emoji', '-unicode-emoji'],
    ['Café at 3 a.m.', 'café-at-3-am'],
    ['_Redrive_ and **retry** [the docs](README.md)', 'redrive-and-retry-the-docs'],
    ['snake_case stays', 'snake_case-stays'],
  ])('%s → %s', (heading, slug) => {
    expect(slugOf(heading)).toBe(slug);
  });

  it('numbers repeated headings as GitHub does, and ignores headings in code', () => {
    const anchors = anchorsOf(
      [
        '# Usage',
        '## Usage',
        '### Usage',
        '```md',
        '# Not a heading',
        '```',
        '<a id="custom-anchor"></a>',
      ].join('\n'),
    );
    expect([...anchors].sort()).toEqual(['custom-anchor', 'usage', 'usage-1', 'usage-2']);
  });
});

describe('link extraction', () => {
  it('finds inline links, images and definitions, not what code shows', () => {
    const links = linksOf(
      [
        'See [deploying](docs/deploying.md#deploy) and ![diagram](img/a.png "title").',
        '[`config/environments.ts`](config/environments.ts)',
        '[ref]: docs/operating.md',
        'Code: `[--objects A,B](not-a-link)`',
        '```bash',
        'echo [x](also-not-a-link)',
        '```',
      ].join('\n'),
    );
    expect(links.map((link) => link.target)).toEqual([
      'docs/deploying.md#deploy',
      'img/a.png',
      'config/environments.ts',
      'docs/operating.md',
    ]);
  });

  it('reports a missing file, a missing anchor and a path outside the repository', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.writeFileSync(path.join(root, 'docs', 'page.md'), '# Page\n\n## Known heading\n');
      fs.writeFileSync(
        path.join(root, 'README.md'),
        [
          '[ok](docs/page.md#known-heading) [ok too](#readme) [external](https://example.com/x)',
          '[gone](docs/missing.md) [typo](docs/page.md#known-headng) [out](../elsewhere.md)',
          '# Readme',
        ].join('\n'),
      );
      const problems = brokenLinks(documentationFiles(root), root);
      expect(problems).toEqual([
        'README.md:2: docs/missing.md: no such file or directory',
        'README.md:2: docs/page.md#known-headng: no heading or anchor "known-headng" in docs/page.md',
        'README.md:2: ../elsewhere.md: points outside the repository',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the README and docs/', () => {
  const files = documentationFiles();

  it('every relative link and #anchor resolves', () => {
    expect(brokenLinks(files)).toEqual([]);
  });

  it('the README stays a front page: at most 300 lines, both first commands, no pasted bench output', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    expect(readme).toContain('`npm ci && npm run local`');
    expect(readme).toContain('`npm ci && npm test`');
    expect(readme).not.toMatch(/^Machine: /m);
  });

  it("the README's map of the docs and docs/README.md's list the same pages, in the same words, every page once", () => {
    const readme = pageMap(path.join(ROOT, 'README.md'), 'Where to read on');
    const index = pageMap(path.join(ROOT, 'docs', 'README.md'), 'Pages');
    expect(readme).toEqual(index);
    const pages = files
      .filter((file) => path.dirname(file) === path.join(ROOT, 'docs') && path.basename(file) !== 'README.md')
      .map((file) => path.relative(ROOT, file))
      .sort();
    expect(readme.map((row) => row.page).sort()).toEqual(pages);
  });

  it('every page under docs/ starts with its title and what it is for', () => {
    const pages = files.filter((file) => file.includes(`${path.sep}docs${path.sep}`));
    expect(pages.length).toBeGreaterThanOrEqual(4);
    for (const page of pages) {
      const [title, blank, firstLine] = fs.readFileSync(page, 'utf8').split('\n');
      expect({
        page: path.relative(ROOT, page),
        title: /^# \S/.test(title),
        blank,
        intro: firstLine !== '',
      }).toEqual({
        page: path.relative(ROOT, page),
        title: true,
        blank: '',
        intro: true,
      });
    }
  });
});
