import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../src/core/duration.js';

test('parseDuration: every unit, combinations and fractions, in milliseconds', () => {
  const cases: [string, number][] = [
    ['90s', 90_000],
    ['10m', 600_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
    ['1y', 31_536_000_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1m500ms', 60_500],
    ['1.5h', 5_400_000],
    [' 2m ', 120_000],
    ['0', 0],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration: no unit, unknown units, signs and garbage are not durations', () => {
  for (const text of ['', '10', '5x', '-5s', '1 h', 'h', '1h30', '.5h', '1e3s', 'soon', '0s0'])
    assert.equal(parseDuration(text), undefined, text);
});
