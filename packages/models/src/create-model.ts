import type { ModelSpec } from '@fedward/protocol';
import { createDenseNet } from './densenet';
import { createSmallCnn } from './small-cnn';
import { createSmallCnnVb } from './small-cnn-vb';
import type { ModelEngine } from './types';
import { createUNet } from './unet';
import { createVggSlim } from './vgg-slim';

/** The one entry point for building a model from the federation's spec. */
export function createModel(spec: ModelSpec): ModelEngine {
  switch (spec.kind) {
    case 'small-cnn':
      return createSmallCnn(spec);
    case 'densenet':
      return createDenseNet(spec);
    case 'unet':
      return createUNet(spec);
    case 'vgg-slim':
      return createVggSlim(spec);
    case 'small-cnn-vb':
      return createSmallCnnVb(spec);
  }
}
