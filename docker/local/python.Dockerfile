# A stand-in for the official Python image (tests only: where no image registry is
# reachable). Laid out as python:3.11-slim-bookworm is: Debian bookworm, CPython 3.11 built
# from source and installed under /usr/local (`python`, `python3` on PATH, libpython in
# /usr/local/lib, `python -m venv` works), the shared libraries its modules link against.
# Debian's own python3 is 3.11.2, older than the lock allows (soupsieve needs >= 3.11.5), so
# the interpreter is this machine's CPython 3.11 build, which the test puts into the build
# context as python/ (bin/python3.11, lib/libpython3.11.so*, the standard library without
# its tests and without site-packages, include/python3.11).
ARG DEBIAN_IMAGE=stockgate-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# The runtime libraries of the official slim image (its modules' shared-library needs).
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends ca-certificates netbase tzdata \
        libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 zlib1g libreadline8 libncursesw6 \
        libtinfo6 libuuid1 libgdbm6 libexpat1 \
    && rm -rf /var/lib/apt/lists/*
COPY python/ /usr/local/
RUN ldconfig \
    && ln -sf python3.11 /usr/local/bin/python3 \
    && ln -sf python3 /usr/local/bin/python \
    && python -c "import ssl, ctypes, sqlite3, lzma, bz2, zlib, uuid, decimal, hashlib, venv, ensurepip; print(ssl.OPENSSL_VERSION)"
# The CA bundle this machine's pip and HTTPS clients trust: the build stage downloads
# its packages (PyPI) through the same network path as the host.
COPY ca-bundle.crt /usr/local/share/stockgate/ca-bundle.crt
ENV PIP_CERT=/usr/local/share/stockgate/ca-bundle.crt \
    SSL_CERT_FILE=/usr/local/share/stockgate/ca-bundle.crt
CMD ["python3"]
