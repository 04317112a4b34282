# syntax=docker/dockerfile:1
#
# The `cabanas` service image: built from the workspace's lockfile, run as a non-root user on
# slim Debian. Used by docker-compose.yml (`api`, scalable with `--scale api=3`); runs on its
# own too, on the embedded SQLite default:
#
#   docker build -t cabanas .
#   docker run -p 8080:8080 -v cabanas-data:/srv/cabanas/data \
#     -v "$PWD/models:/srv/cabanas/models:ro" cabanas
#
# The Whisper model is not baked in (148 MB, and owners may pick another): mount it read-only
# at the path CABANAS_WHISPER_MODEL names. Without it the service still starts and answers
# voice notes "please type" (docs/integrations/voice.md).

# --- build -------------------------------------------------------------------------------------
# The workspace's rust-version (Cargo.toml) and the newest rust-version in Cargo.lock (sqlx 0.9).
FROM rust:1.94-bookworm AS build
# whisper.cpp (the `voice` feature) is compiled by whisper-rs-sys with cmake and g++. libclang is
# not needed: .cargo/config.toml (copied below) sets WHISPER_DONT_GENERATE_BINDINGS=1 and
# GGML_NATIVE=OFF, so the binary runs on any x86-64 with AVX2, not only on the build machine.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Everything the workspace needs (.dockerignore keeps target/, models/, data/ and secrets out).
COPY . .
# --locked: exactly the versions of Cargo.lock, or fail. The cache mounts keep the registry and
# the target directory between builds (BuildKit); the binary is copied out of the cached target.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked -p api --bin cabanas \
    && install -m 0755 target/release/cabanas /usr/local/bin/cabanas

# --- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: reqwest (rustls) checks Meta's, Mercado Pago's and the calendars' TLS
# certificates against the system roots. libstdc++6: whisper.cpp is C++. curl: the HEALTHCHECK
# below (`cabanas` has no health-check subcommand).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       ca-certificates libstdc++6 curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so a bind-mounted data directory can be chowned to it on the host
# (`chown -R 10001:10001 ./data`).
RUN groupadd --system --gid 10001 cabanas \
    && useradd --system --uid 10001 --gid cabanas --home-dir /srv/cabanas --shell /usr/sbin/nologin cabanas \
    && mkdir -p /srv/cabanas/data /srv/cabanas/models \
    && chown -R cabanas:cabanas /srv/cabanas
COPY --from=build /usr/local/bin/cabanas /usr/local/bin/cabanas
# The embedded defaults are relative to the working directory: SQLite at ./data/cabanas.db, a
# generated JWT secret at ./data/jwt-secret, the model at ./models/ggml-base.bin.
WORKDIR /srv/cabanas
USER cabanas:cabanas
# Inside a container the service must listen on every interface (its default is 127.0.0.1).
# MALLOC_ARENA_MAX=2: glibc keeps two heaps instead of one per busy thread; measured with
# `bench e2e`, the service's memory after load went from ~104 to ~75 MB at the same speed.
ENV CABANAS_BIND=0.0.0.0:8080 \
    CABANAS_WHISPER_MODEL=/srv/cabanas/models/ggml-base.bin \
    MALLOC_ARENA_MAX=2
# The SQLite store and the generated JWT secret (single-box deployments); with PostgreSQL
# nothing durable is written here, but CABANAS_JWT_SECRET must then be set, the same on every
# instance.
VOLUME ["/srv/cabanas/data"]
EXPOSE 8080
# /readyz answers 200 when this instance can serve (database, and Redis when configured, answer;
# "degraded" for a stale calendar still counts) and 503 otherwise, always within about a second.
# The start period covers migrations and the read-model catch-up of a first start.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD port="${CABANAS_BIND##*:}"; curl -fsS -o /dev/null "http://127.0.0.1:${port:-8080}/readyz" || exit 1
# SIGTERM (docker stop) drains in-flight requests and lets the workers finish their pass (10 s
# each); compose gives it stop_grace_period to do so.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/cabanas"]
CMD ["serve"]
