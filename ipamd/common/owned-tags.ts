/** Tags every interface ipamd creates carries; leak cleanup finds them by these. */
export const ownedTags = {
  cluster: 'vpc-cni.io/cluster',
  node: 'vpc-cni.io/node',
  createdAt: 'vpc-cni.io/created-at',
  /** The create intent it was made under (ipamd/pool/intents.ts), so a successor can tell which call made it. */
  intent: 'vpc-cni.io/intent',
} as const;
