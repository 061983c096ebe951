#!/bin/sh
# The official image's Redis is built with protected mode off (the container network is
# the boundary); Debian's defaults to on without a config file, so say it here.
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
