#!/bin/sh
# ensure-tools.sh -- installs, where missing, the tools the shim's build and tests use:
# the aarch64 cross compiler and qemu-user (the linux-aarch64 shim and its tests), the
# mingw-w64 cross compiler and Wine (the win32-x86-64 shim and its tests).
#
# Run by the Maven build (mps-prot-native, initialize phase) so that the README's two
# commands set up a fresh machine themselves.  It installs only as root on a system
# with apt-get (Debian, Ubuntu), non-interactively; elsewhere it names what is missing
# and the build goes on: the Makefile then skips those tests with a SKIPPED line (or
# fails, with REQUIRE_CROSS=1).  Skip it with -Dmpsprot.tools.skip=true.
set -u

missing=""
have() { command -v "$1" >/dev/null 2>&1; }
have aarch64-linux-gnu-gcc || missing="$missing gcc-aarch64-linux-gnu"
have aarch64-linux-gnu-nm || missing="$missing binutils-aarch64-linux-gnu"
have qemu-aarch64 || missing="$missing qemu-user"
have x86_64-w64-mingw32-gcc || missing="$missing gcc-mingw-w64-x86-64"
have x86_64-w64-mingw32-objdump || missing="$missing binutils-mingw-w64-x86-64"
[ -x /usr/lib/wine/wine64 ] || have wine64 || missing="$missing wine64"

if [ -z "$missing" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! have apt-get; then
  echo "ensure-tools: not installing (needs root and apt-get):$missing; the tests that need them are skipped"
  exit 0
fi
echo "ensure-tools: installing$missing (once; apt-get, non-interactive)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null
status=$?
if [ $status -ne 0 ]; then
  echo "ensure-tools: apt-get install failed (status $status); the tests that need$missing are skipped"
fi
exit 0
