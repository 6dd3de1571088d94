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
  const fields = Object.fromEntries(
    Object.entries(payload).map(([k, v]) => {
      if (!isBinary(v)) return [k, v];
      binaryBytes += v.byteLength;
      return [k, { binaryBytes: v.byteLength }];
    }),
  );
  return { fields, binaryBytes };
}

/** Whether a payload is a message object with fields (not a bare binary value). */
export const hasFields = (payload: unknown): payload is object => typeof payload === 'object' && payload !== null && !isBinary(payload);
