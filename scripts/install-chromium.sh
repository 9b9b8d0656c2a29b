#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test (driven by
# playwright-core with executablePath /usr/bin/chromium; Playwright's own
# browser downloads are not used). Idempotent: does nothing if it is there.
# It never fails `npm test`: when it cannot install (no apt-get, no root, no
# network) it says why in one line and exits 0, and the browser test skips
# itself.
set -uo pipefail

CHROMIUM=/usr/bin/chromium
[[ -x "$CHROMIUM" ]] && exit 0

skip() {
  echo "install-chromium: $1; the dashboard's browser test will be skipped (install Debian's chromium package to run it)" >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 || skip "$CHROMIUM is missing and apt-get is unavailable"
if [[ "$(id -u)" == 0 ]]; then
  as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root() { sudo -n "$@"; }
else
  skip "$CHROMIUM is missing and installing it needs root (or passwordless sudo)"
fi

log="$(mktemp "${TMPDIR:-/tmp}/klaxon-install-chromium.XXXXXX")"
echo "install-chromium: installing Debian package chromium (apt output: $log)" >&2
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 -o Acquire::Retries=1 -o Acquire::http::Timeout=30)
# Refresh package lists only if apt does not know a candidate yet.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  as_root "${apt[@]}" update >>"$log" 2>&1 || skip "apt-get update failed (no network?), see $log"
fi
as_root "${apt[@]}" install chromium >>"$log" 2>&1 || skip "apt-get install chromium failed (no network?), see $log"
[[ -x "$CHROMIUM" ]] || skip "chromium was installed but $CHROMIUM is missing, see $log"
rm -f "$log"
echo "install-chromium: installed $CHROMIUM" >&2
