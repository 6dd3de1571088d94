/**
 * Layers that run this package's fused kernels where they are registered and tf.layers' own
 * computation elsewhere. A subpath of its own: importing it does not load the wasm backend.
 */
export { conv2dReluLayer } from './conv_relu_layer';
export { plainConv2dLayer } from './plain_conv_layer';
export { maxPooling2dLayer } from './max_pool_layer';
