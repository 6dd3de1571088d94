import type { ModelSpec } from '@fedward/protocol';
import { createSmallCnn } from './small-cnn';
import type { ModelEngine } from './types';

export * from './types';
export * from './backend';
export * from './backend-ladder';
export * from './memory-dataset';

/** The one entry point for building a model from the federation's spec. */
export function createModel(spec: ModelSpec): ModelEngine {
  switch (spec.kind) {
    case 'small-cnn':
      return createSmallCnn(spec);
  }
}
