export * from './server';
export * from './store';
export * from './coordinator';
