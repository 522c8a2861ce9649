import { CommandError } from '../../../lib/command.ts';
import { runInNamespace } from '../../../lib/iproute.ts';
import type { FirewallPlan } from '../model/firewall-plan.ts';
import { frameScript, transition, type AppliedFirewall } from './firewall-script.ts';

/** Runs one nftables transaction (a whole `nft -f` file) in the fabric. */
export type NftRunner = (script: string) => Promise<void>;

export function namespaceNft(namespace: string): NftRunner {
  return async (script) => {
    const argv = ['nft', '-f', '-'];
    const result = await runInNamespace(namespace, argv, { input: script, timeoutMs: 60_000 });
    if (result.code !== 0) throw new CommandError(argv, result, `nft refused the transaction: ${result.stderr.trim() || `exit ${result.code}`}`);
  };
}

export interface FirewallOutcome {
  /** How many transactions have been committed. */
  generation: number;
  lines: number;
  ms: number;
}

/**
 * The fabric's security-group enforcement: keeps what the kernel holds and
 * moves it to each new plan in one transaction. A refused transaction leaves
 * the kernel's rule set as it was (nft commits all or nothing) and `applied`
 * unchanged, so the next change carries the refused one with it.
 */
export class FabricFirewall {
  private applied: AppliedFirewall | null = null;
  private framed = false;
  private generation = 0;

  constructor(private readonly run: NftRunner) {}

  /** Commits the difference to `plan`; resolves with what it took, or throws with nft's reason. */
  async apply(plan: FirewallPlan, ports: Map<string, string>): Promise<FirewallOutcome> {
    const started = performance.now();
    const after: AppliedFirewall = { plan, ports: new Map(ports) };
    const lines = [...(this.framed ? [] : frameScript()), ...transition(this.applied, after)];
    if (lines.length > 0) await this.run(`${lines.join('\n')}\n`);
    this.framed = true;
    this.applied = after;
    if (lines.length > 0) this.generation++;
    return { generation: this.generation, lines: lines.length, ms: performance.now() - started };
  }

  get committed(): number {
    return this.generation;
  }
}
