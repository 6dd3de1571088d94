import type { StudySettings } from '@fedward/protocol';
import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';

export type StudyAction = 'start' | 'pause' | 'resume' | 'stop';

/** Creates a draft study; resolves with its id and, when z was left out, the z calibrated for the target ε. */
export async function createStudy(socket: AdminSocket, settings: StudySettings): Promise<{ id: string; calibrated: { noiseMultiplier: number } | null }> {
  const { id, calibrated } = await adminRequest(socket, 'create-study', { settings });
  return { id, calibrated };
}

export async function updateStudy(socket: AdminSocket, study: string, settings: StudySettings): Promise<{ calibrated: { noiseMultiplier: number } | null }> {
  return { calibrated: (await adminRequest(socket, 'update-study', { study, settings })).calibrated };
}

export async function controlStudy(socket: AdminSocket, study: string, action: StudyAction): Promise<void> {
  await adminRequest(socket, 'study-control', { study, action });
}

/** Enrols a hospital that already has a token in this study, or takes it out. */
export async function enrolHospital(socket: AdminSocket, study: string, hospital: string, enrolled: boolean): Promise<void> {
  await adminRequest(socket, 'enrol-hospital', { study, hospital, enrolled });
}
