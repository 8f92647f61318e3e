"""Signals accounts sends, so that apps holding a person's data can act without accounts
knowing about them (accounts imports no other app)."""

from django.dispatch import Signal

# Sent with `user` just before that user and their rows are deleted: files kept outside the
# database (uploads, results) are removed by the app that wrote them.
user_deleting = Signal()
