import { describe, expect, it } from 'vitest';
import type { FederationConfig } from '@fedward/protocol';
import { buildPrivacyCard, escapeHtml, renderPrivacyCardHtml } from '../src';
import { HOSTILE, dpConfig, dpInput, rounds } from './fixtures';

const hostileConfig: FederationConfig = { ...dpConfig, name: `Study "A" & <b>B</b> ${HOSTILE}` };

describe('renderPrivacyCardHtml', () => {
  const page = renderPrivacyCardHtml(buildPrivacyCard({ ...dpInput, config: hostileConfig, labels: ['<script>x</script>', 'ok'] }));

  it('escapes every string: a hostile hospital, study or label name is text, not markup', () => {
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b>B</b>');
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('Study &quot;A&quot; &amp; &lt;b&gt;B&lt;/b&gt;');
    expect(page).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(escapeHtml(`<a href='x'>&"`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&quot;');
  });

  it('is a self-contained document: lang, charset, inline style with print rules, nothing to fetch or run', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<meta charset="utf-8">');
    expect(page).toMatch(/<style>[\s\S]*@media print[\s\S]*<\/style>/);
    expect(page).not.toMatch(/<link|<script|https?:\/\//i);
    // The only tags are the page's own.
    const tags = new Set([...page.matchAll(/<([a-z0-9]+)[\s>]/gi)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(
      ['body', 'caption', 'dd', 'dl', 'dt', 'footer', 'h1', 'h2', 'h3', 'head', 'header', 'html', 'li', 'main', 'meta', 'p', 'section', 'span', 'style', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'title', 'tr', 'ul'].sort(),
    );
  });

  it('has headings in order and every table header cell scoped', () => {
    const headings = [...page.matchAll(/<h([1-3])[ >]/g)].map((m) => Number(m[1]));
    expect(headings[0]).toBe(1);
    headings.forEach((level, i) => i > 0 && expect(level - headings[i - 1]!).toBeLessThanOrEqual(1));
    const ths = [...page.matchAll(/<th[ >][^>]*>?/g)].map((m) => m[0]);
    expect(ths.length).toBeGreaterThan(10);
    for (const th of ths) expect(th).toMatch(/scope="(row|col)"/);
  });

  it('explains its terms in plain words, with no bare jargon', () => {
    expect(page).toContain('ε per patient');
    expect(page).toContain('How much all the slices of one patient at one hospital can change what is released');
    expect(page).toContain('Updates per hospital per round (sub-clients)');
    expect(page).not.toMatch(/\bVN\b/);
    // Abbreviations appear only next to what they stand for.
    expect(page.match(/\bRDP\b/g)).toEqual(['RDP']);
    expect(page).toContain('Rényi differential privacy (RDP)');
  });

  it('shows the whole ledger and the intervals', () => {
    for (const r of rounds) expect(page).toContain(`<th scope="row">${r.round}</th>`);
    expect(page).toContain('4.500'); // ε per patient after round 3
    expect(page).toContain('21.250'); // ε per hospital after round 3
    expect(page).toContain('49.0 % – 94.3 %'); // 8 of 10
    expect(page).toContain('fewer than 30');
    expect(page).toContain('trial round');
  });

  it('says plainly when there is no differential privacy', () => {
    const card = buildPrivacyCard({ ...dpInput, config: { ...dpConfig, privacy: undefined }, privacy: null, rounds: rounds.map((r) => ({ ...r, dp: null })) });
    const plain = renderPrivacyCardHtml(card);
    expect(plain).toContain('This study ran without differential privacy');
    expect(plain).not.toContain('Privacy ledger');
  });
});
