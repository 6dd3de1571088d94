import { describe, expect, it } from 'vitest';
import { agoText, clockTime } from '../src/features/time/format';
import { newPasswordProblem } from '../src/routes/dashboard/components/ChangePasswordForm';
import { isStale } from '../src/routes/dashboard/DashboardPage';

describe('time words', () => {
  it('says how long ago, in seconds then minutes then hours', () => {
    expect(agoText(null, 0)).toBe('never');
    expect(agoText(10_000, 22_400)).toBe('12 s ago');
    expect(agoText(5_000, 0)).toBe('0 s ago');
    expect(agoText(0, 3 * 60_000)).toBe('3 min ago');
    expect(agoText(0, 5 * 3600_000)).toBe('5 h ago');
  });

  it('writes clock times as hh:mm:ss', () => {
    expect(clockTime(new Date(2024, 0, 1, 7, 5, 9).getTime())).toBe('07:05:09');
  });
});

describe('isStale', () => {
  it('is live only while connected and after the resync snapshot arrived', () => {
    expect(isStale({ kind: 'live', since: 100 }, 150)).toBe(false);
    expect(isStale({ kind: 'live', since: 100 }, 50)).toBe(true);
    expect(isStale({ kind: 'reconnecting', since: 100 }, 150)).toBe(true);
    expect(isStale({ kind: 'offline', since: 100 }, 150)).toBe(true);
  });
});

describe('newPasswordProblem', () => {
  it('wants the current password, 12+ characters, a matching confirmation and a change', () => {
    expect(newPasswordProblem('', 'abcdefghijkl', 'abcdefghijkl')).toMatch(/current/);
    expect(newPasswordProblem('old', 'short', 'short')).toMatch(/at least 12/);
    expect(newPasswordProblem('old', 'abcdefghijkl', 'abcdefghijkX')).toMatch(/differ/);
    expect(newPasswordProblem('abcdefghijkl', 'abcdefghijkl', 'abcdefghijkl')).toMatch(/same/);
    expect(newPasswordProblem('old', 'abcdefghijkl', 'abcdefghijkl')).toBeNull();
  });
});
