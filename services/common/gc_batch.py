"""Fewer garbage collections during a set-based batch (an import chunk).

A 500-row import chunk allocates hundreds of thousands of short-lived dicts, lists
and tuples (loaded rows, plans, audit entries, search postings). CPython starts a
young-generation collection every 700 net allocations of container objects and a
full one every 100 of those: measured on an import, 5-6 s of CPU per 100k rows went
to collections that found almost nothing (the batch's objects are freed by reference
counting when the chunk ends). ``fewer_collections`` raises the first threshold for
the batch and restores the previous thresholds afterwards; nothing is disabled, a
cycle made in the batch is still collected (at the next collection).
"""
import contextlib
import gc

BATCH_THRESHOLD = (20000, 20, 20)


@contextlib.contextmanager
def fewer_collections(threshold=BATCH_THRESHOLD):
    previous = gc.get_threshold()
    if previous[0] == 0 or previous[0] >= threshold[0]:  # disabled or already raised
        yield
        return
    gc.set_threshold(*threshold)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
