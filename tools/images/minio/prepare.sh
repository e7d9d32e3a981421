#!/usr/bin/env bash
# Puts the S3 server's binary into the build context $1 (tools/local-images.sh runs this).
set -euo pipefail
cp "$(bash "$(dirname "$0")/../../s3-server.sh")" "$1/versitygw"
