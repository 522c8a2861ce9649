/**
 * The part of bun:ffi the netlink helper uses. The project type-checks
 * against Node's types only; the helper runs inside the bun-compiled
 * executable, where this module exists.
 */
declare module 'bun:ffi' {
  export const FFIType: { readonly i32: number; readonly u64: number; readonly ptr: number; readonly cstring: number; readonly i64_fast: number };
  export type Pointer = number & { readonly __pointer: unique symbol };
  export function ptr(view: ArrayBufferView): Pointer;
  export const read: { i32(pointer: Pointer, offset?: number): number };
  export function dlopen<Fns extends Record<string, { args: readonly number[]; returns: number }>>(
    path: string,
    symbols: Fns,
  ): { symbols: { [K in keyof Fns]: (...args: Array<number | Pointer | Uint8Array | null>) => number } };
}
