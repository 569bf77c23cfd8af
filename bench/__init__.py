"""Kehu CRM benchmark suite: ceilings and our figures measured in one run.

    .venv/bin/python -m bench            # default (~17 min)
    .venv/bin/python -m bench --quick    # smoke (~3.5 min)
    .venv/bin/python -m bench --long     # R7 memory over 10 minutes

Runs against the real stack on this machine (nameko processes started as
``make run`` does) on its own RabbitMQ vhost, SQLite files and PostgreSQL
database, all removed at the end. Results: bench/results/latest.json and .md.
"""
