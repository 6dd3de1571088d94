export * from './events';
export * from './participant';
export * from './async-queue';
export * from './sub-clients';
