# syntax=docker/dockerfile:1
# Multi-stage build of the one jobmanager binary (api, worker, mailbox, migrate, seed,
# healthcheck) and the bezahl.de simulator for demos. The build stage has the Go
# toolchain; the final image is distroless "static": no shell, no package manager, no
# libc, only CA certificates and time zones, run as the unprivileged user 65532.
# `docker build --target api` and `--target worker` give images whose default command
# is that role; the default target runs whatever command it is given.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO_ENABLED=0: a static binary that runs on distroless/static without libc.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/jobmanager ./cmd/jobmanager && \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/bezahlsim ./cmd/bezahlsim

FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/jobmanager /usr/local/bin/jobmanager
COPY --from=build /out/bezahlsim /usr/local/bin/bezahlsim
# nonroot is uid/gid 65532; Kubernetes' runAsNonRoot needs the numeric form to verify it.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/jobmanager"]
CMD ["help"]

# The worker: Temporal worker plus its /healthz, /readyz and /metrics on METRICS_ADDR.
FROM runtime AS worker
ENV METRICS_ADDR=0.0.0.0:9090
CMD ["worker"]

# The API (and the pages, the codec endpoint, /healthz, /readyz, /metrics) on API_ADDR.
# Last, so a plain `docker build .` gives the API image.
FROM runtime AS api
ENV API_ADDR=0.0.0.0:8080
CMD ["api"]
