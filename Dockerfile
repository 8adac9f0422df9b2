# Self-contained builds of the workspace's two images, for machines that can
# pull the rust base image from a registry. Build from the repository root:
#
#   docker build --target emulator -t fargate-emulator:latest .     # (docker compose build)
#   docker build --target sample-app -t sample-app:latest .
#
# Offline (no registry), `cargo xtask sample-image` builds the same
# sample-app image from a locally compiled static binary instead. Each image
# is empty except for one static binary.

FROM rust:1-slim AS build
WORKDIR /src
# The whole workspace (every member must be present); .dockerignore keeps a
# local target/ out of the build context.
COPY . .
# crt-static links glibc statically, so the binaries run in an empty image;
# the explicit --target keeps the flag away from build scripts and proc macros.
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release -p emulator -p sample-app --target "$target" \
 && cp "target/$target/release/emulator" "target/$target/release/sample-app" /

# The emulator, for `docker compose up` (docker-compose.yml). It talks to the
# Docker engine through the socket the container mounts.
FROM scratch AS emulator
COPY --from=build /emulator /emulator
# Inside a container the control port and listeners must bind every
# interface to be reachable through published ports.
ENV EMULATOR_LISTEN=0.0.0.0:4566 \
    EMULATOR_LISTENER_BIND=0.0.0.0
EXPOSE 4566
ENTRYPOINT ["/emulator"]
CMD ["serve"]

# The sample app. No HEALTHCHECK, as in `cargo xtask sample-image`'s image:
# container health checks come from the task definition
# (`/sample-app healthcheck` works there), and an image-level one would
# make Docker probe every task container.
FROM scratch AS sample-app
COPY --from=build /sample-app /sample-app
EXPOSE 8080
ENTRYPOINT ["/sample-app"]
