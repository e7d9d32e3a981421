#!/usr/bin/env bash
# Builds the S3 server the tests run as an `s3` accessory where no registry serves minio/minio
# (tools/images/minio): versitygw, a real S3 gateway over a directory, from the Go module proxy,
# cached outside the repository. Prints the binary's path.
# Usage: tools/s3-server.sh
set -euo pipefail
VERSION="1.8.0"
cache="${PERMACOOP_TOOLCHAIN_CACHE:-${HOME}/.cache/permacoop-toolchain}/builds/versitygw-${VERSION}"
if [[ ! -x "${cache}/versitygw" ]]; then
  printf '[s3-server] building versitygw %s from the Go module proxy (about 4 minutes, once)\n' "$VERSION" >&2
  mkdir -p "$cache"
  CGO_ENABLED=0 GOBIN="$cache" nice -n 10 go install -trimpath -ldflags="-s -w" "github.com/versity/versitygw/cmd/versitygw@v${VERSION}" >&2
fi
printf '%s\n' "${cache}/versitygw"
