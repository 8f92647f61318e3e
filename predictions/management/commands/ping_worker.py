import time
import uuid
from typing import Any

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser

from predictions.tasks import ping, ping_answer_key


class Command(BaseCommand):
    help = "Send a ping task through the broker and wait for a worker's answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        nonce = uuid.uuid4().hex
        ping.delay(nonce)
        deadline = time.monotonic() + options["timeout"]
        while time.monotonic() < deadline:
            answer = cache.get(ping_answer_key(nonce))
            if answer:
                self.stdout.write(self.style.SUCCESS(f"Worker answered: {answer}"))
                return
            time.sleep(0.2)
        raise CommandError(f"No worker answered within {options['timeout']:.0f} s.")
