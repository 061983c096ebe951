"""manage.py create_api_token USER [--name N] [--scopes scan,read] [--days D]: prints the token once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from stockgate.apitokens.models import SCOPES, ApiToken


class Command(BaseCommand):
    help = "Create an API token for USER and print it (it is stored hashed: this is the only time it is shown)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="username")
        parser.add_argument("--name", default="script", help="what the token is for")
        parser.add_argument("--scopes", default="scan,read", help=f"comma-separated among {', '.join(SCOPES)}")
        parser.add_argument("--days", type=int, default=None, help="expire after this many days (default: never)")
        parser.add_argument("--revoke", metavar="PREFIX", help="instead: revoke USER's tokens starting with PREFIX")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        if options["revoke"]:
            tokens = ApiToken.objects.filter(user=user, key_prefix__startswith=options["revoke"][:10],
                                             revoked_at__isnull=True)
            count = tokens.update(revoked_at=timezone.now())
            if not count:
                raise CommandError(f"no active token of {user} starts with {options['revoke']!r}")
            self.stdout.write(f"revoked {count} token(s)")
            return
        if options["days"] is not None and options["days"] < 1:
            raise CommandError("--days must be at least 1")
        expires = timezone.now() + timedelta(days=options["days"]) if options["days"] else None
        try:
            _, raw = ApiToken.issue(user, options["name"], options["scopes"], expires)
        except ValueError as exc:
            raise CommandError(f"--scopes: {exc}") from exc
        self.stdout.write(raw)
