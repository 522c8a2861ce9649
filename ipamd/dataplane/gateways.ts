/** The link-local next hop of every pod: answered by the host end of its veth. */
export const podGateway = '169.254.1.1';
