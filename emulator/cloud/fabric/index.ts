/** The VPC in a box: real namespaces, veths and routes behind the cloud model. */
export { VpcBox, defaultEndpoints, type VpcBoxOptions } from './box.ts';
export type { Endpoint } from './proxy-process.ts';
export { sweepStaleBoxes, listNamespaces } from './lifecycle.ts';
export { peerHeader, portName, nodeInterfaceName, parseBoxNamespace, boxNamespacePrefix } from './names.ts';
export { CommandError, type CommandResult } from '../../../lib/command.ts';
