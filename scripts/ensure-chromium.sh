#!/usr/bin/env bash
# Makes sure Chromium is available for the Playwright tests. Playwright's own browser
# download needs internet access, so Debian's package is used instead; it is installed
# with apt-get when missing and this runs as root.
set -euo pipefail

browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing at $browser: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH" >&2
  exit 1
fi

echo "Installing Debian's chromium package for the end-to-end tests" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
