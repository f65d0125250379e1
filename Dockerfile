# syntax=docker/dockerfile:1
# accelerator-exporter image. Two stages: dependencies are installed with npm in a
# full Node image; the runtime is distroless Node 24 (no shell, no package
# manager, no compiler), running as the distroless "nonroot" user (65532).
#
# No vendor tool is in this image; they come from the node's driver stack:
#  - NVIDIA: the NVIDIA Container Toolkit injects nvidia-smi and libnvidia-ml
#    (NVIDIA_DRIVER_CAPABILITIES=utility, daemonset/overlays/nvidia).
#  - AMD: amd-smi is a Python CLI over libamd_smi; it needs Python, which this
#    image lacks. Build an AMD variant FROM a ROCm base image that has amd-smi, or
#    mount the host's /opt/rocm read-only into such an image (see docs/install.md).
#  - Intel: xpu-smi (Data Center GPU Max/Flex) is a host package; mount it and its
#    libraries from the host or build a variant with Intel's xpumanager packages.
#
# The image runs the compiled dist/ that `npm ci` (prepare) and `npm run build` write
# in the build context: build it before `docker build`. Running the TypeScript
# sources through Node's type stripping works too (bin/ falls back to src/) but
# costs about 25 MiB more memory, and not with --jitless (type stripping needs
# WebAssembly); --max-semi-space-size=1 saves about 12 MiB, --jitless about 10 MiB
# more (measured by npm run bench, docs/architecture.md#memory).
# scripts/image-tree.ts assembles exactly what this file COPYs (tested by
# test/deploy/image.test.ts); keep the two in step.

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install hook runs. Every runtime dependency is plain JavaScript
# except koffi (the NVML backend's FFI), whose native binary arrives as a prebuilt
# per-platform npm package (@koromix/koffi-linux-x64, -arm64); its install hook would
# only build from source, which no supported platform needs.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY LICENSE ./
COPY bin ./bin
COPY dist ./dist
COPY src ./src

FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
LABEL org.opencontainers.image.title="accelerator-exporter" \
      org.opencontainers.image.description="Accelerator (GPU) metrics for Prometheus, read in the background from the vendor tools" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build --chown=0:0 /app /app
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 9477
# The exporter in ENTRYPOINT, not CMD: a pod's `args` replace CMD, so flags given
# in the DaemonSet reach the exporter instead of replacing it.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--jitless", "/app/bin/accelerator-exporter.js"]
CMD []
