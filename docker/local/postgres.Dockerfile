# A stand-in for the official postgres image, built from Debian's PostgreSQL 15 (tests
# only). It honours the same contract the compose file uses: POSTGRES_DB, POSTGRES_USER,
# POSTGRES_PASSWORD, data in /var/lib/postgresql/data, pg_isready on PATH.
ARG DEBIAN_IMAGE=stockgate-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER postgres
EXPOSE 5432
# Fast shutdown, as the official image: sessions are cut, the data stays consistent.
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint"]
CMD ["postgres"]
