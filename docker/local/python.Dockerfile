# A stand-in for the official Python image, built from Debian packages on a local
# Debian base (tests only: where no image registry is reachable). Same layout the
# application image relies on: `python` on PATH, `python -m venv` works.
ARG DEBIAN_IMAGE=stockgate-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv python-is-python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# The CA bundle this machine's pip and HTTPS clients trust: the build stage downloads
# its packages through the same network path as the host.
COPY ca-bundle.crt /usr/local/share/stockgate/ca-bundle.crt
ENV PIP_CERT=/usr/local/share/stockgate/ca-bundle.crt \
    SSL_CERT_FILE=/usr/local/share/stockgate/ca-bundle.crt
