"""Background jobs, and the batch job (a file of readings) built on them.

engine.py     any kind of job: claim, chunks, progress, finish, fail, cancel, retry, recovery
jobs.py       the batch job kind: submit an upload, score a chunk, results, retention
files.py      where job files live: storing uploads, job folders, deleting them
parsing.py    a batch file: format, header, cutting into chunks, the fast and careful paths
rows.py       one row's rules and a chunk's rows held column by column
storage.py    writing a chunk's predictions (binary COPY on PostgreSQL)
results.py    the results file: its columns, one part per chunk, streaming them back
callbacks.py  the webhook when a job ends: URL rules, pinned address, signing, delivery
errors.py     what these raise (ApplicationError subclasses, mapped to HTTP in one place)
"""
