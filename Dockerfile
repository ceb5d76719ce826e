# recopub as a container image: a static binary on distroless, run as a
# non-root user. Build with 'make image' (IMAGE=... to name it for your
# registry); docs/deploy/cronjob.yaml runs it.
ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first: this layer is cached while only the code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary that needs no libc in the image.
# .git is not in the build context (.dockerignore): -buildvcs=false, the
# revision is a label instead (VCS_REVISION, set by 'make image').
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/recopub ./cmd/recopub

FROM ${BASE_IMAGE}
ARG VCS_REVISION=unknown
LABEL org.opencontainers.image.title="recopub" \
      org.opencontainers.image.description="Parquet exports to item-item recommendations published to Redis" \
      org.opencontainers.image.revision="${VCS_REVISION}"
COPY --from=build /out/recopub /usr/local/bin/recopub
# distroless's nonroot user (uid 65532); numeric so that Kubernetes'
# runAsNonRoot can check it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/recopub"]
