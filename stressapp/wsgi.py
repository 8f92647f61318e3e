import os

from django.core.wsgi import get_wsgi_application

from stressapp.body_drain import drain_unread_body
from stressapp.lifecycle import process_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressapp.settings")
# A body a view answered early is read to its end first, so every client reads the answer.
application = drain_unread_body(get_wsgi_application())
# Each server process does what the apps registered (load the model) as it starts, not on
# its first request, and takes its live gauges with it when it exits.
process_started()
