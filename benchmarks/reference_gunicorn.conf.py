"""gunicorn on its defaults, as the seed ran it: the reference server reads this (empty)
configuration instead of ours."""
