#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download cannot work offline).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
echo "==> Installing Chromium for the browser tests (apt, about a minute)"
if [ "$(id -u)" != 0 ]; then
    echo "error: /usr/bin/chromium is missing: run 'sudo apt-get install -y chromium' (the browser tests need it)." >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "    installed $(/usr/bin/chromium --version 2>/dev/null | tail -1)"
