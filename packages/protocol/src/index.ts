export * from './tensors';
export * from './weights-codec';
export * from './config';
export * from './messages';
export * from './validate';
export * from './plan';
export * from './study-settings';
export * from './receipt';
