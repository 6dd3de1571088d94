/**
 * A deterministic stand-in for the CSPRNG (xorshift32 words), so that two aggregators fed the
 * same updates draw the same noise in the same order and their releases can be compared bit for
 * bit. Tests only: the product's noise comes from WebCrypto.
 */
export const counterFill = (): ((b: Uint32Array) => void) => {
  let x = 0x9e3779b9;
  return (b) => {
    for (let k = 0; k < b.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[k] = x >>> 0;
    }
  };
};
