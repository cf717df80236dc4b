#!/bin/sh
# Install a Debian tool that some tests or the performance guard run, if it is
# missing: scripts/apt-install.sh COMMAND PACKAGE [PACKAGE...] (the first package
# that installs wins). Without root or apt-get it says why and goes on; what needs
# the tool then skips, with that reason.
command=$1
shift
if command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: $command is not installed and this is not root: what needs it will skip"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: $command is not installed and there is no apt-get: what needs it will skip"
    exit 0
fi
echo "deps: installing $command with apt-get"
export DEBIAN_FRONTEND=noninteractive
for attempt in installed-lists fresh-lists; do
    if [ "$attempt" = fresh-lists ]; then
        apt-get update >/dev/null 2>&1
    fi
    for package in "$@"; do
        if apt-get install -y --no-install-recommends "$package" >/dev/null 2>&1; then
            exit 0
        fi
    done
done
echo "deps: apt-get could not install $command: what needs it will skip"
