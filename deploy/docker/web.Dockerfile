# syntax=docker/dockerfile:1
#
# The web server with its WebAssembly, JavaScript and CSS:
#
#   docker build -f deploy/docker/web.Dockerfile -t gittix/web .

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-chef --locked --version 0.1.78 \
 && cargo install cargo-leptos --locked --version 0.3.10
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Cargo's configuration (the browser bundle's flags among it) before the dependencies are
# built, so that they are built once, as the final build needs them.
COPY .cargo .cargo
# Dependencies of the server (native) and of the browser bundle (wasm), cached as layers.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin server \
 && cargo chef cook --profile wasm-release --locked --target wasm32-unknown-unknown \
      --recipe-path recipe.json -p frontend
COPY . .
# cargo-leptos fetches the wasm-bindgen and wasm-opt it needs during this build;
# .ci/build-site also writes .br and .gz beside each file, for browsers that accept them.
RUN bash .ci/build-site \
 && cp target/release/server /server \
 && cp -r target/site /site

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=builder /server /app/server
COPY --from=builder /site /app/site
COPY --from=builder /src/Leptos.toml /app/Leptos.toml
ENV LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_ENV=PROD \
    LOG_FORMAT=json
USER nonroot:nonroot
# 3000: the site; 9464: /metrics when METRICS_PORT=9464 (the manifest sets it), never public.
EXPOSE 3000 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/app/server", "healthcheck"]
ENTRYPOINT ["/app/server"]
