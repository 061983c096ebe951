# A stand-in for the official nginx image, built from Debian's nginx (tests only): nginx
# and curl on PATH, an `nginx` user with the official image's uid/gid 101, the same stop
# signal. docker/nginx.conf is mounted over /etc/nginx/nginx.conf as with the official image.
ARG DEBIAN_IMAGE=stockgate-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN groupadd --system --gid 101 nginx \
    && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /bin/false nginx \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends nginx curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/*
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
