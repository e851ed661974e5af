# syntax=docker/dockerfile:1
#
# One image per backend service, built from the same recipe and the same executable (the
# `service` binary runs any of them; the image names its service in GITTIX_SERVICE):
#
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=tickets -t gittix/tickets .
#
# SERVICE is one of auth, tickets, orders, expiration, payments.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The dependency recipe changes only when a manifest or Cargo.lock does.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Cargo's configuration (its build flags among it) before the dependencies are built, so
# that they are built once, as the final build needs them.
COPY .cargo .cargo
# Dependencies only: this layer stays cached while just the code changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin service
COPY . .
RUN cargo build --release --locked --bin service \
 && cp target/release/service /service

# A small runtime: glibc and CA certificates, no shell, a non-root user.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG SERVICE
COPY --from=builder /service /usr/local/bin/service
ENV GITTIX_SERVICE=${SERVICE} \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json
USER nonroot:nonroot
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/service"]
