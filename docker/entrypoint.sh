#!/bin/sh
# Start one role of stockgate: web | worker | beat | feed | migrate | <any command>.
set -eu

# Samples of processes from an earlier start of this container are not ours to sum.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -name '*.db' -delete
fi

role="${1:-web}"
case "$role" in
    web)
        shift || true
        # uvicorn's supervisor kills a worker that does not answer its ping within
        # --timeout-worker-healthcheck (5 s by default); importing the application on a
        # busy host takes longer than that, and each kill starts the import over.
        exec python -m uvicorn stockgate.asgi:application --host 0.0.0.0 --port "${WEB_PORT:-8000}" \
            --workers "${WEB_WORKERS:-2}" --timeout-worker-healthcheck 30 --loop uvloop --http httptools --ws websockets-sansio \
            --ws-per-message-deflate false --ws-max-size 1048576 --lifespan off \
            --no-access-log --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" "$@"
        ;;
    worker)
        shift || true
        exec celery -A stockgate worker --loglevel "${LOG_LEVEL:-INFO}" \
            --concurrency "${WORKER_CONCURRENCY:-2}" -n "worker@%h" "$@"
        ;;
    beat)
        shift || true
        # The schedule lives in PostgreSQL (django_celery_beat); no local state file.
        exec celery -A stockgate beat --loglevel "${LOG_LEVEL:-INFO}" \
            -S django_celery_beat.schedulers:DatabaseScheduler --pidfile= "$@"
        ;;
    feed)
        shift || true
        exec python manage.py stream_prices "$@"
        ;;
    migrate)
        # Static files are served from the app folders (whitenoise finders): no collectstatic.
        exec python manage.py migrate --noinput
        ;;
    *)
        exec "$@"
        ;;
esac
