# capo controller image. Multi-stage: build with the full toolchain, ship only the compiled package, its production
# dependencies and the Node.js runtime. Runs as a non-root user; the manager Deployment also mounts the root
# filesystem read-only (nothing is written outside the mounted webhook certificate directory).
# The same image can be assembled without a container engine: hack/image/build-oci.sh (OCI image layout).
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY config ./config
COPY templates ./templates
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/src/cli/main.js"]
CMD ["controller"]
