"""Create an admin login with a generated password if there is none, and print it once.

The password is kept in var/admin-password.txt (the owner's only, from its first byte);
later runs say where it is rather than printing it into every terminal and log again.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the 'admin' superuser with a generated password when no superuser exists."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user_model = get_user_model()
        password_file = settings.VAR_DIR / "admin-password.txt"
        if user_model.objects.filter(is_superuser=True).exists():
            if password_file.exists():
                self.stdout.write(f"admin login: {username} (password in {password_file})")
            else:
                self.stdout.write("an admin login exists (reset with: manage.py changepassword)")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        settings.VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        password_file.unlink(missing_ok=True)  # an earlier database's: this password replaces it
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        self.stdout.write(self.style.SUCCESS(
            f"created admin login: {username} / {password}  (kept in {password_file}; shown only now)"
        ))
