"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")

# Every task is capped in deliveries (stockgate.ops.redelivery_cap): acks_late and
# reject_on_worker_lost alone would rerun a task that kills its worker for ever.
app = Celery("stockgate", task_cls="stockgate.ops.redelivery_cap:DeliveryCappedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
