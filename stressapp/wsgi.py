import os

from django.core.wsgi import get_wsgi_application

from stressapp.lifecycle import process_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressapp.settings")
application = get_wsgi_application()
# Each server process does what the apps registered (load the model) as it starts, not on
# its first request, and takes its live gauges with it when it exits.
process_started()
