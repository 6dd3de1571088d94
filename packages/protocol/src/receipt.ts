/**
 * A message's fields as a receipt shows them: every value as sent, binary values as their length
 * (`{ binaryBytes: n }`). The hospital's receipts and the server's record of received messages
 * both use this, so the two can be compared field for field.
 */
export interface ReceiptFields {
  fields: Record<string, unknown>;
  /** Bytes of binary values in all. */
  binaryBytes: number;
}

const isBinary = (v: unknown): v is ArrayBuffer | ArrayBufferView => v instanceof ArrayBuffer || ArrayBuffer.isView(v);

export function receiptFields(payload: object): ReceiptFields {
  let binaryBytes = 0;
  // Nested too: secure aggregation's messages carry lists of encrypted shares.
  const shown = (v: unknown): unknown => {
    if (isBinary(v)) {
      binaryBytes += v.byteLength;
      return { binaryBytes: v.byteLength };
    }
    if (Array.isArray(v)) return v.map(shown);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shown(x)]));
    return v;
  };
  const fields = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, shown(v)]));
  return { fields, binaryBytes };
}

/** Whether a payload is a message object with fields (not a bare binary value). */
export const hasFields = (payload: unknown): payload is object => typeof payload === 'object' && payload !== null && !isBinary(payload);
