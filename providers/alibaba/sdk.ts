/**
 * The Alibaba SDKs are CommonJS. Importers disagree on what a CommonJS
 * module's default import is (Node's ESM and esbuild: module.exports; Vite:
 * module.exports.default), so take the namespace and settle on
 * module.exports: it has every named export, with the client class as
 * `default`.
 */
import * as credentialsNamespace from '@alicloud/credentials';
import * as ecsNamespace from '@alicloud/ecs20140526';
import * as openApiNamespace from '@alicloud/openapi-client';
import * as teaUtilNamespace from '@alicloud/tea-util';

/** TypeScript types a CommonJS namespace's `default` as module.exports; that is the shape returned. */
function moduleExports<T extends { default: object }>(namespace: T): T['default'] {
  const inner: unknown = namespace.default;
  // Node and esbuild: `default` is module.exports itself, which carries its own `default`.
  if (typeof inner === 'object' && inner !== null && 'default' in inner) return inner as T['default'];
  // Vite: the namespace holds the named exports, and `default` is the client class.
  return namespace as unknown as T['default'];
}

export const credentials = moduleExports(credentialsNamespace);
export const ecs = moduleExports(ecsNamespace);
export const openApi = moduleExports(openApiNamespace);
export const teaUtil = moduleExports(teaUtilNamespace);
