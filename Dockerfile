# syntax=docker/dockerfile:1

# dimos: one static binary; the command (migrate, worker, console) is chosen
# by the container's arguments, see docker-compose.yml.

# ---- build ----------------------------------------------------------------
# The Go version must be at least the one in go.mod (go 1.26.8).
FROM golang:1.26.8 AS build
WORKDIR /src
# CGO off: every dependency is pure Go (PostgreSQL through pgx; the SQLite of
# the embedded Temporal dev server is modernc.org/sqlite), so the binary is
# static and runs on a base image without libc.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/dimos ./cmd/dimos \
 && mkdir -p /out/var/lib/dimos

# ---- runtime --------------------------------------------------------------
# distroless/static: CA certificates, tzdata and /etc/passwd with the
# "nonroot" user (65532), no shell, no package manager (~2 MB).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dimos /usr/local/bin/dimos
# DIMOS_DATA_DIR; owned by the runtime user so a named volume mounted here
# starts out writable.
COPY --from=build --chown=65532:65532 /out/var/lib/dimos /var/lib/dimos
USER 65532:65532
ENV DIMOS_DATA_DIR=/var/lib/dimos \
    DIMOS_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["dimos"]
CMD ["help"]
