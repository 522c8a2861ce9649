/**
 * What ARM shows of security groups that the model does not keep: the names
 * NSGs and ASGs were created under (the model gives its own ids), and each
 * security rule as the caller wrote it (singular or plural fields, prefixes
 * as written), so a GET answers what the PUT said.
 */

export type ArmGroupType = 'nsg' | 'asg';

/** A security rule's `properties` as ARM shows them, normalized (canonical casing, full ASG ids). */
export type ArmRuleProperties = Record<string, unknown>;

export interface ArmRuleDocument {
  name: string;
  properties: ArmRuleProperties;
}

export class ArmSecurityState {
  private readonly modelIdByName = new Map<string, string>();
  private readonly nameByModelId = new Map<string, string>();
  private readonly rules = new Map<string, ArmRuleDocument[]>();

  /** The model id behind an ARM name (case-insensitive); a group never named through ARM goes by its model id. */
  modelIdOf(type: ArmGroupType, name: string): string {
    return this.modelIdByName.get(`${type}:${name.toLowerCase()}`) ?? name.toLowerCase();
  }

  /** A group's ARM name: the one it was created under, or its model id. */
  nameOf(modelId: string): string {
    return this.nameByModelId.get(modelId) ?? modelId;
  }

  bind(type: ArmGroupType, name: string, modelId: string): void {
    this.modelIdByName.set(`${type}:${name.toLowerCase()}`, modelId);
    this.nameByModelId.set(modelId, name);
  }

  /** The rules as last written through ARM, in order. */
  ruleDocuments(modelId: string): ArmRuleDocument[] {
    return [...(this.rules.get(modelId) ?? [])];
  }

  setRuleDocuments(modelId: string, documents: ArmRuleDocument[]): void {
    this.rules.set(modelId, [...documents]);
  }

  forget(type: ArmGroupType, modelId: string): void {
    const name = this.nameByModelId.get(modelId);
    if (name !== undefined) this.modelIdByName.delete(`${type}:${name.toLowerCase()}`);
    this.nameByModelId.delete(modelId);
    this.rules.delete(modelId);
  }
}
