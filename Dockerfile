# vpc-cni image: ipamd (a Node bundle: an entry and its lazily loaded chunks)
# and the CNI plugin (one executable).
# Build: docker build -t <registry>/vpc-cni:<tag> .
#
# linux/amd64 only: the plugin is compiled by bun for x86-64
# (@oven/bun-linux-x64), and the DaemonSet selects amd64 nodes.
# Node 26 is the Active LTS line (November 2026). The bundle targets Node 20
# (esbuild --target=node20) and runs unchanged on later lines.

FROM --platform=linux/amd64 node:26-slim AS build
WORKDIR /src
# Dependencies first, so source edits reuse this layer. Dev dependencies are
# needed here: esbuild bundles ipamd, bun compiles the plugin.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY cni ./cni
COPY wire ./wire
COPY ipamd ./ipamd
COPY providers ./providers
COPY lib ./lib
# dist/ipamd.mjs (+ .map, + dist/ipamd-chunks/) and dist/vpc-cni, exactly as the tests build them.
RUN npm run build && npm run build:plugin

FROM --platform=linux/amd64 node:26-slim
# ipamd execs `ip` (links, routes, rules, pod namespaces) and `nft` (SNAT).
# npm, npx, corepack and yarn are not needed at run time, nor Node's C++
# headers (67 MB, for building native addons): removed.
# `npm run image` builds the same image without a registry (docs/image.md):
# it reads this file, so keep to the instructions image/dockerfile.ts knows.
RUN apt-get update \
  && apt-get install -y --no-install-recommends iproute2 nftables \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
     /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /usr/local/include/node
# The bundle is self-contained (no node_modules); the source map gives
# readable stack traces with --enable-source-maps. Its chunks hold what only
# some nodes load (the other clouds' SDKs, the Kubernetes client).
COPY --from=build /src/dist/ipamd.mjs /src/dist/ipamd.mjs.map /src/dist/vpc-cni /opt/vpc-cni/
# A directory source copies its contents: name the destination directory.
COPY --from=build /src/dist/ipamd-chunks /opt/vpc-cni/ipamd-chunks/
# Root, not a dedicated user: a CNI works on the node itself. ipamd changes
# the host's interfaces, routes, rules, nftables and sysctls, enters pods'
# network namespaces and writes root-owned host directories (/etc/cni/net.d,
# /var/run/vpc-cni); the init container installs into /opt/cni/bin. The
# DaemonSet grants what that needs (deploy/base/daemonset.yaml says why).
USER root
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "--enable-source-maps", "/opt/vpc-cni/ipamd.mjs"]
CMD ["run"]
