/**
 * Layers and config into an image, with umoci (the Open Containers
 * Initiative's tool for OCI image layouts: no daemon, no storage driver, no
 * registry, each step one command on a plain directory) and skopeo (converts
 * the layout into a docker-archive, the tar that `ctr images import`,
 * `docker load` and `podman load` all read, and `skopeo copy` can push to a
 * registry). Every timestamp is SOURCE_DATE_EPOCH: equal layers and facts
 * give an equal image id.
 */
import { join } from 'node:path';
import type { DockerfileFacts } from './dockerfile.ts';
import { imagePath } from './recipe.ts';
import { runTool } from './tools.ts';

export interface LayerSpec {
  tar: string;
  /** Written into the image's history, as `docker history` shows a RUN or COPY. */
  createdBy: string;
}

export interface ImageConfigSpec {
  facts: DockerfileFacts;
  nodeVersion: string;
  epoch: number;
}

/** Builds the OCI layout `<work>/oci` and returns the docker-archive written to `archive` under `ref`. */
export async function assembleImage(work: string, layers: LayerSpec[], config: ImageConfigSpec, archive: string, ref: string): Promise<void> {
  const layout = join(work, 'oci');
  const image = `${layout}:build`;
  const created = new Date(config.epoch * 1000).toISOString();
  await runTool('umoci', ['init', '--layout', layout]);
  await runTool('umoci', ['new', '--image', image]);
  for (const layer of layers) await runTool('umoci', ['raw', 'add-layer', '--image', image, '--history.created', created, '--history.created_by', layer.createdBy, layer.tar]);
  const { facts } = config;
  await runTool('umoci', [
    'config',
    '--image',
    image,
    '--created',
    created,
    '--history.created',
    created,
    '--history.created_by',
    `ENTRYPOINT ${JSON.stringify(facts.entrypoint)} CMD ${JSON.stringify(facts.cmd)} USER ${facts.user}`,
    '--os',
    'linux',
    '--architecture',
    'amd64',
    '--config.user',
    facts.user,
    // node:<major>-slim's environment: PATH with /usr/local first, and the Node version it carries.
    '--config.env',
    `PATH=${imagePath}`,
    '--config.env',
    `NODE_VERSION=${config.nodeVersion}`,
    ...facts.entrypoint.flatMap((word) => ['--config.entrypoint', word]),
    ...facts.cmd.flatMap((word) => ['--config.cmd', word]),
  ]);
  // Earlier manifests and configs of the steps above are unreferenced now.
  await runTool('umoci', ['gc', '--layout', layout]);
  // No signature policy applies to a local copy between two files.
  await runTool('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${image}`, `docker-archive:${archive}:${ref}`]);
}
