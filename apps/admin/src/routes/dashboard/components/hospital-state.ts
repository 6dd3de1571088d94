import type { HospitalView } from '@fedward/protocol';
import { shortTime } from '../../../features/time/format';

/** A hospital's state in plain words. */
export function hospitalStateText(h: HospitalView): string {
  switch (h.state) {
    case 'offline':
      return 'offline';
    case 'starting':
      return 'starting';
    case 'ready':
      return 'ready';
    case 'training':
      return 'training';
    case 'uploaded':
      return 'uploaded';
    case 'backing-off':
      return h.until ? `backing off until ${shortTime(h.until)}` : 'backing off';
    case 'skipped':
      return 'skipped by admin';
    default:
      // A server from before per-hospital states sends only `connected`.
      return h.connected ? 'online' : 'offline';
  }
}

/** Whether the admin's button for this hospital lets it back in (rather than skipping it). */
export const isLeftOut = (h: HospitalView): boolean => h.state === 'skipped' || h.state === 'backing-off';
