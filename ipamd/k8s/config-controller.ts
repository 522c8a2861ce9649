/**
 * Applies the NodeNetworkConfig that selects this node, live: on every
 * change of the node or of the configs, select (pure), validate (schema, then
 * the subnets and security groups against the cloud: they must exist, in the
 * node's VPC, subnets in its zone too), and hand the resulting settings to the pool. Interfaces already
 * attached keep their subnet and groups; the next ones follow the config.
 *
 * A selected config that is invalid is reported (an Event on it and
 * `configError` in the node's status) and not applied: the settings in force
 * stay. When no config selects the node any more, the environment's settings
 * come back.
 */
import type { Logger } from '../common/logger.ts';
import type { PoolSettings } from '../pool/manager.ts';
import type { EventRecorder } from './events.ts';
import { effectiveSettings, selectNodeNetworkConfig, validateSpec } from './node-config.ts';
import { apiGroup, apiVersion, configAnnotation, nodeNetworkConfigKind, type NodeInfo, type NodeNetworkConfigObject } from './resources.ts';
import { CoalescedRun } from '../common/coalesced-run.ts';

export interface ConfigControllerOptions {
  nodeName: string;
  node: () => NodeInfo | undefined;
  /** undefined while the configs have not been listed yet. */
  configs: () => NodeNetworkConfigObject[] | undefined;
  /** The environment's settings: in force when no config selects the node. */
  base: PoolSettings;
  pool: { configure(settings: PoolSettings): void };
  /** The cloud's verdict on a config's subnets: a problem, or undefined when they are fine. Throws when the cloud cannot be asked. */
  checkSubnets: (subnetIds: string[]) => Promise<string | undefined>;
  /** The same for its security groups. */
  checkSecurityGroups: (groupIds: string[]) => Promise<string | undefined>;
  instanceZone: () => string | undefined;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  /** Wait before asking the cloud again after it could not be asked. */
  retryMs?: number;
}

export interface ConfigState {
  /** The config in force, "" if none. */
  config: string;
  /** Why the selected config is not in force, "" if it is (or none is selected). */
  configError: string;
}

export class NodeConfigController {
  private applied: { name: string; version: string } | undefined;
  private error = '';
  /** Verdicts on config versions already found invalid (reported once per version). */
  private readonly rejected = new Map<string, string>();
  private readonly evaluations = new CoalescedRun(
    () => this.evaluateOnce().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'evaluating the NodeNetworkConfig failed')),
    () => !this.stopped,
  );
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ConfigControllerOptions) {}

  get state(): ConfigState {
    return { config: this.applied?.name ?? '', configError: this.error };
  }

  /** Re-evaluates (coalesced with one already running). */
  evaluate(): Promise<void> {
    return this.evaluations.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  private async evaluateOnce(): Promise<void> {
    const { options } = this;
    const node = options.node();
    const configs = options.configs();
    // Without the node or the list of configs, nothing can be decided: what is in force stays.
    if (!node || !configs) return;
    const selection = selectNodeNetworkConfig(node, configs, options.instanceZone());
    if (selection.kind === 'none') {
      if (this.applied) {
        options.logger.info({ previous: this.applied.name }, 'no NodeNetworkConfig selects this node any more: back to the environment settings');
        options.pool.configure(effectiveSettings(options.base, undefined));
        this.applied = undefined;
      }
      this.error = '';
      return;
    }
    if (selection.kind === 'missing') {
      this.error = `the node's annotation ${configAnnotation} names NodeNetworkConfig "${selection.name}", which does not exist`;
      options.events.record({ apiVersion: 'v1', kind: 'Node', name: node.name, ...(node.uid ? { uid: node.uid } : {}) }, 'Warning', 'NodeNetworkConfigNotFound', this.error);
      return;
    }
    const config = selection.config;
    const version = `${config.uid}/${config.resourceVersion}`;
    if (this.applied?.version === version) {
      this.error = '';
      return;
    }
    const known = this.rejected.get(version);
    if (known !== undefined) {
      this.error = known;
      return;
    }
    const validation = validateSpec(config.spec);
    if (!validation.ok) {
      this.reject(config, version, validation.problems.join('; '));
      return;
    }
    const subnetIds = validation.spec.subnetIds ?? [];
    const groupIds = validation.spec.securityGroupIds ?? [];
    let problems: Array<string | undefined>;
    try {
      // Both checked, so one report names every problem of the config.
      problems = await Promise.all([
        subnetIds.length > 0 ? options.checkSubnets(subnetIds) : undefined,
        groupIds.length > 0 ? options.checkSecurityGroups(groupIds) : undefined,
      ]);
    } catch (err) {
      options.logger.warn({ config: config.name, err: (err as Error).message }, 'could not check the subnets or security groups of the NodeNetworkConfig; will retry');
      this.scheduleRetry();
      return;
    }
    const problem = problems.filter(Boolean).join('; ');
    if (problem) {
      this.reject(config, version, problem);
      return;
    }
    const settings = effectiveSettings(options.base, validation.spec);
    options.pool.configure(settings);
    this.applied = { name: config.name, version };
    this.error = '';
    options.logger.info({ config: config.name, by: selection.by, settings }, 'NodeNetworkConfig applied');
  }

  private reject(config: NodeNetworkConfigObject, version: string, problems: string): void {
    this.error = `NodeNetworkConfig ${config.name} not applied: ${problems}`;
    if (this.rejected.size >= 100) this.rejected.clear();
    this.rejected.set(version, this.error);
    this.options.logger.warn({ config: config.name, problems, inForce: this.applied?.name ?? '' }, 'invalid NodeNetworkConfig not applied');
    this.options.events.record(
      { apiVersion: `${apiGroup}/${apiVersion}`, kind: nodeNetworkConfigKind, name: config.name, ...(config.uid ? { uid: config.uid } : {}) },
      'Warning',
      'InvalidNodeNetworkConfig',
      `not applied on node ${this.options.nodeName}: ${problems}`,
    );
  }

  private scheduleRetry(): void {
    if (this.retry || this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.evaluate();
    }, this.options.retryMs ?? 10_000);
    this.retry.unref();
  }
}
