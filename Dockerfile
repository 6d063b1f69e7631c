# Multi-stage build of the one jobmanager binary; the same image runs `api`, `worker`,
# `migrate` and `seed`. Hardened images and Kubernetes material come with the operations
# work (see deploy/).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/jobmanager ./cmd/jobmanager

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jobmanager /jobmanager
USER nonroot:nonroot
ENTRYPOINT ["/jobmanager"]
