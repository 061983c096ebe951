# The Celery app is imported here so `shared_task` uses it in every process.
from stockgate.celery import app as celery_app

__all__ = ("celery_app",)
