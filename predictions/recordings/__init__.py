"""Recordings: a session's signals uploaded from a device, scored window by window on the job
engine, against the person's own rest baseline when they have one.

    services.py   upload, score again, cancel, delete; baselines; annotations
    kind.py       the recording job kind: read, prepare, score and store its windows
    selectors.py  reads: lists, one recording, its windows, agreement with the person's labels
    charts.py     what the recording page draws (signals downsampled, the level band)
    errors.py     what these raise
"""
