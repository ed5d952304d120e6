# syntax=docker/dockerfile:1
# One image for every platform binary; docker-compose.kafka.yml picks the binary per service
# with `command:` (customer-api, outbox-relay, console-consumer, ...).

FROM rust:1-bookworm AS builder
# rdkafka-sys builds librdkafka from source (make + a C toolchain, both in this image).
WORKDIR /src
COPY . .
# The cache mounts keep the crates.io downloads and the compiled dependencies between builds;
# the binaries are copied out of target/release because the cache is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --workspace --bins \
    && mkdir -p /out \
    && find target/release -maxdepth 1 -type f -perm -u+x -exec cp {} /out/ \;

FROM debian:bookworm-slim
# curl for the compose health checks, CA certificates for anything spoken over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin platform
COPY --from=builder /out/ /usr/local/bin/
USER platform
ENV LOG_FORMAT=json RUST_LOG=info
CMD ["customer-api"]
