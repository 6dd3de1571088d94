import { describe, expect, it } from 'vitest';
import type { FederationSnapshot, HospitalView } from '@fedward/protocol';
import { Timeline } from '../src/timeline';

const hospital = (name: string, state: HospitalView['state'], status: HospitalView['status'] = null): HospitalView => ({
  name,
  connected: true,
  state,
  lastSeen: null,
  backend: 'wasm',
  status,
  trainSamples: 96,
  testSamples: 24,
});

const snapshot = (phase: FederationSnapshot['phase'], round: number, hospitals: HospitalView[]) => ({ phase, round, hospitals }) as FederationSnapshot;

describe('Timeline from admin snapshots', () => {
  it('times a round from its start to the update, and the upload when it was seen', () => {
    const t = new Timeline();
    t.joining('a', 0);
    t.snapshot(snapshot('waiting', 1, [hospital('a', 'starting')]), 100);
    t.snapshot(snapshot('training', 1, [hospital('a', 'training')]), 1_000);
    t.snapshot(snapshot('training', 1, [hospital('a', 'training', { phase: 'uploading', round: 1, progress: 0.5 })]), 3_000);
    t.snapshot(snapshot('training', 1, [hospital('a', 'uploaded', { phase: 'uploading', round: 1, progress: 1 })]), 3_400);
    expect(t.hospital('a', new Map([[1, 3_500]]))).toEqual({ importMs: null, startupMs: 1_000, rounds: [{ round: 1, trainMs: 2_000, uploadMs: 400, roundMs: 2_400 }] });
    expect(t.roundStart(1)).toBe(1_000);
  });

  it('ignores a stale upload status after the release, and ends the update that completed the round at the release', () => {
    const t = new Timeline();
    t.snapshot(snapshot('training', 1, [hospital('a', 'training')]), 1_000);
    // Released at 2 000; the next round's snapshot still carries round 1's last status.
    t.snapshot(snapshot('training', 2, [hospital('a', 'training', { phase: 'uploading', round: 1, progress: 1 })]), 2_100);
    expect(t.hospital('a', new Map([[1, 2_000]])).rounds).toEqual([{ round: 1, trainMs: 1_000, uploadMs: null, roundMs: 1_000 }]);
  });

  it('prefers a Node hospital’s own events, which are exact', () => {
    const t = new Timeline();
    t.event('a', { type: 'round-start', round: 1, deadline: 0 }, 900);
    t.event('a', { type: 'upload', round: 1, subClient: 0, subClients: 1, sentBytes: 10, totalBytes: 20 }, 1_500);
    t.event('a', { type: 'uploaded', round: 1, subClient: 0, subClients: 1 }, 1_520);
    t.snapshot(snapshot('training', 1, [hospital('a', 'training')]), 1_000);
    expect(t.hospital('a', new Map([[1, 1_600]])).rounds).toEqual([{ round: 1, trainMs: 600, uploadMs: 20, roundMs: 620 }]);
    expect(t.roundStart(1)).toBe(900);
  });

  it('times a Node hospital’s upload that started and ended in the same millisecond as 0, not unseen', () => {
    const t = new Timeline();
    t.event('a', { type: 'round-start', round: 1, deadline: 0 }, 900);
    t.event('a', { type: 'upload', round: 1, subClient: 0, subClients: 1, sentBytes: 10, totalBytes: 20 }, 1_500);
    t.event('a', { type: 'uploaded', round: 1, subClient: 0, subClients: 1 }, 1_500);
    expect(t.hospital('a', new Map([[1, 1_600]])).rounds).toEqual([{ round: 1, trainMs: 600, uploadMs: 0, roundMs: 600 }]);
    // The same instant seen in one admin snapshot stays unseen (null).
    const s = new Timeline();
    s.snapshot(snapshot('training', 1, [hospital('a', 'training')]), 1_000);
    s.snapshot(snapshot('training', 1, [hospital('a', 'uploaded', { phase: 'uploading', round: 1, progress: 1 })]), 1_500);
    expect(s.hospital('a', new Map([[1, 1_600]])).rounds).toEqual([{ round: 1, trainMs: 500, uploadMs: null, roundMs: 500 }]);
  });
});
