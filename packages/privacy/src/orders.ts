/**
 * Rényi orders at which RDP curves are evaluated. ε is the minimum over the
 * list, so the list matters: small ε needs orders above 63 (hence
 * dp_accounting's 128…1024), large ε needs orders close to 1.
 */

function range(from: number, toExclusive: number): number[] {
  return Array.from({ length: toExclusive - from }, (_, i) => from + i);
}

/** 1.1, 1.2, …, 10.9 computed as 1 + x/10, so the doubles equal the Python libraries' ones. */
const TENTHS = range(1, 100).map((x) => 1 + x / 10);

/** dp_accounting's DEFAULT_RDP_ORDERS (156 orders). The default here. */
export const DP_ACCOUNTING_ORDERS: readonly number[] = Object.freeze([...TENTHS, ...range(11, 64), 128, 256, 512, 1024]);

/** Opacus' RDPAccountant.DEFAULT_ALPHAS (151 orders; no 11, nothing above 63). */
export const OPACUS_ORDERS: readonly number[] = Object.freeze([...TENTHS, ...range(12, 64)]);

/** Legacy TF-Privacy compute_dp_sgd_privacy orders. */
export const TF_PRIVACY_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...range(5, 64), 128, 256, 512,
]);

export type OrderListName = "dp_accounting" | "opacus" | "tf_privacy";
export type OrdersOption = OrderListName | readonly number[];

const NAMED: Record<OrderListName, readonly number[]> = {
  dp_accounting: DP_ACCOUNTING_ORDERS,
  opacus: OPACUS_ORDERS,
  tf_privacy: TF_PRIVACY_ORDERS,
};

/** Resolves an order option to a validated list (orders must be finite and > 1). */
export function resolveOrders(orders: OrdersOption = "dp_accounting"): readonly number[] {
  if (typeof orders === "string") {
    const list = NAMED[orders];
    if (!list) throw new Error(`unknown order list "${orders}"`);
    return list;
  }
  if (orders.length === 0) throw new Error("order list is empty");
  for (const a of orders) {
    if (!Number.isFinite(a) || a <= 1) throw new Error(`RDP orders must be finite and > 1, got ${a}`);
  }
  return orders;
}
