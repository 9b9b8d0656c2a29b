#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test (driven by
# playwright-core with executablePath /usr/bin/chromium; Playwright's own
# browser downloads are not used). Idempotent: does nothing if it is there.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "install-chromium: /usr/bin/chromium is missing and apt-get is unavailable: install Chromium" >&2; exit 1; }

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else echo "install-chromium: need root (or passwordless sudo) to run: $*" >&2; exit 1; fi
}

echo "install-chromium: installing Debian package chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
# Refresh package lists only if apt does not know a candidate yet.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then as_root "${apt[@]}" update >&2; fi
as_root "${apt[@]}" install chromium >&2
[[ -x /usr/bin/chromium ]] || { echo "install-chromium: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
