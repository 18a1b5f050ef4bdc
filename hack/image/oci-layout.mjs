// Writes the JSON parts of an OCI image layout around one already written layer blob: image config, manifest,
// index.json (with the tag as org.opencontainers.image.ref.name) and oci-layout.
// Usage: node oci-layout.mjs LAYOUT_DIR TAG LAYER_DIGEST DIFF_ID   (digests are hex sha256)
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const [layout, tag, layerDigest, diffId] = process.argv.slice(2);
if (!layout || !tag || !layerDigest || !diffId) throw new Error("usage: oci-layout.mjs LAYOUT_DIR TAG LAYER_DIGEST DIFF_ID");

function blob(obj) {
  const text = JSON.stringify(obj);
  const digest = createHash("sha256").update(text).digest("hex");
  writeFileSync(join(layout, "blobs", "sha256", digest), text);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
}

const config = blob({
  created: "1970-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: {
    User: "65532:65532",
    Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
    Entrypoint: ["node", "--max-semi-space-size=4", "/app/dist/src/cli/main.js"],
    Cmd: ["controller"],
    WorkingDir: "/app",
    Labels: { "org.opencontainers.image.title": "capo", "org.opencontainers.image.version": tag },
  },
  rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
  history: [{ created: "1970-01-01T00:00:00Z", created_by: "hack/image/build-oci.sh" }],
});
const layerSize = statSync(join(layout, "blobs", "sha256", layerDigest)).size;
const manifest = blob({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${layerDigest}`, size: layerSize }],
});
writeFileSync(
  join(layout, "index.json"),
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": tag },
        platform: { architecture: "amd64", os: "linux" },
      },
    ],
  }),
);
writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
process.stdout.write(`sha256:${manifest.digest.slice(7)}\n`);
