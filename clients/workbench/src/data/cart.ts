// The distributor's cart: kept on the phone (localStorage) until it becomes purchase orders,
// one per supplier.
import { useEffect, useState } from "preact/hooks";

const KEY = "fieldsync.cart";
type Cart = Record<string, number>; // product id → quantity
const listeners = new Set<() => void>();

function load(): Cart {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? "{}") as Cart;
  } catch {
    return {};
  }
}
let cart: Cart = load();

export function setQty(productId: string, qty: number): void {
  cart = { ...cart };
  if (qty > 0) cart[productId] = qty;
  else delete cart[productId];
  localStorage.setItem(KEY, JSON.stringify(cart));
  listeners.forEach((fn) => fn());
}

export function clearProducts(ids: string[]): void {
  cart = { ...cart };
  ids.forEach((id) => delete cart[id]);
  localStorage.setItem(KEY, JSON.stringify(cart));
  listeners.forEach((fn) => fn());
}

export function clearCart(): void {
  cart = {};
  localStorage.removeItem(KEY);
  listeners.forEach((fn) => fn());
}

export function useCart(): Cart {
  const [, bump] = useState(0);
  useEffect(() => {
    const fn = () => bump((n) => n + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return cart;
}
