export * from './events';
export * from './participant';
export * from './async-queue';
export * from './sub-clients';
export * from './training-state';
export * from './memory-patient-dataset';
export type { SentMessage } from './socket';
export * from './secagg-client';
export * from './dp-sgd-local';
