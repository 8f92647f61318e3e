"""The batch job (a file of readings), a kind of job on the engine in `jobs`.

kind.py       the kind: one chunk parsed, scored, stored and written as a results part
jobs.py       the services: submit an upload, cancel, retry, results, retention
api.py        its API (/api/batch-jobs...); views.py: its pages (/jobs/)
files.py      where a job's files live: its folder, input, result parts
parsing.py    a batch file: format, header, cutting into chunks, the fast and careful paths
rows.py       one row's rules and a chunk's rows held column by column
storage.py    writing a chunk's predictions (binary COPY on PostgreSQL)
results.py    the results file: its columns, one part per chunk, streaming them back
callbacks.py  the webhook when a job ends: URL rules, pinned address, signing, delivery
errors.py     what these raise (ApplicationError subclasses, mapped to HTTP in one place)
"""
