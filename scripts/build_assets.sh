#!/usr/bin/env bash
# Builds the addon's browser libraries from npm (package.json + package-lock.json, pinned):
# JsSIP ships CommonJS only, so esbuild bundles it into one browser script, loaded by Odoo's
# web.assets_backend before the console's phone. The bundle is built, never committed (.gitignore).
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_node
build_assets
