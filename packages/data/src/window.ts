/** Display windows (level/width), as used for CT. */

export interface Window {
  center: number;
  width: number;
}

/** Common CT presets, in HU. */
export const WINDOW_PRESETS = {
  'ct-brain': { center: 40, width: 80 },
  'ct-soft-tissue': { center: 40, width: 400 },
  'ct-lung': { center: -600, width: 1500 },
  'ct-bone': { center: 400, width: 1800 },
} as const satisfies Record<string, Window>;

export type WindowPreset = keyof typeof WINDOW_PRESETS;

/**
 * Maps a value through a window to [0, 1]. Linear, clamped at both ends —
 * the DICOM "LINEAR" VOI function without the ±0.5 integer offsets, which
 * only matter for integer display output.
 */
export function windowToUnit(value: number, window: Window): number {
  const lo = window.center - window.width / 2;
  const t = (value - lo) / window.width;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}
