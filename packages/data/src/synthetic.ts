/**
 * In-memory federations for simulators and tests: the same phantom slices the
 * generator writes, as model-ready tensors, without files or IndexedDB.
 */
import { planFederation, renderPlannedSlice, type FederationOptions } from './federation';
import { windowToUnit, type Window } from './window';

export interface HospitalTensors {
  hospitalId: string;
  size: number;
  count: number;
  /** count × size × size in [0, 1], windowed with the hospital's own window (as its PNG export). */
  x: Float32Array;
  /** 1 = lesion, 0 = normal. */
  y: Uint8Array;
  /** count × size × size lesion masks. */
  masks: Uint8Array;
  /** Patient index within the hospital, for patient-disjoint splits. */
  patients: Int32Array;
}

/** Renders every hospital of a planned federation; `window` overrides the hospitals' own windows. */
export function syntheticFederationTensors(options: FederationOptions, window?: Window): HospitalTensors[] {
  const plan = planFederation(options);
  const { size } = options;
  const area = size * size;
  return plan.hospitals.map((h) => {
    const n = h.slices.length;
    const t: HospitalTensors = {
      hospitalId: h.profile.id,
      size,
      count: n,
      x: new Float32Array(n * area),
      y: new Uint8Array(n),
      masks: new Uint8Array(n * area),
      patients: new Int32Array(n),
    };
    const w = window ?? h.profile.window;
    h.slices.forEach((s, k) => {
      const r = renderPlannedSlice(s, h.profile, size);
      for (let i = 0; i < area; i++) t.x[k * area + i] = windowToUnit(r.hu[i] ?? 0, w);
      t.masks.set(r.mask, k * area);
      t.y[k] = s.label === 'lesion' ? 1 : 0;
      t.patients[k] = s.patient.index;
    });
    return t;
  });
}
