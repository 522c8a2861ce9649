#!/usr/bin/env bash
# Installs the Debian packages the emulated VPC and the test suites use:
# iproute2 (namespaces, veths, routes), iputils-ping, procps (sysctl),
# iptables and nftables (SNAT, portmap), the reference CNI plugins
# (/usr/lib/cni: bandwidth, portmap, ptp, host-local), iperf3, containerd
# with runc and busybox-static (the e2e runtime and its image), Go with
# the CNI reference library (libcni: the bench's runtime), and mmdebstrap,
# umoci and skopeo (`npm run image`: the Debian base, the OCI layout, the
# image archive).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "host-setup: run as root (apt-get, network namespaces)" >&2
  exit 1
fi
packages=(iproute2 iputils-ping procps iptables nftables containernetworking-plugins iperf3 containerd runc busybox-static golang-go golang-github-appc-cni-dev mmdebstrap umoci skopeo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "host-setup: ${packages[*]} present"
# kubectl renders the deploy/ overlays (test/deploy). Only when absent: on
# some images another package owns /usr/bin/kubectl and Debian's would conflict.
if ! command -v kubectl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends kubernetes-client
fi
echo "host-setup: kubectl present ($(command -v kubectl))"
