"""Outreach channel adapters (pluggable; no external calls by default).

An adapter has ``name`` and ``send(message) -> {"status", "external_ref"}``.
``message`` holds campaign_id, participant_id, channel, recipient, subject, body.
The adapter is chosen by config ``MARKETING_CHANNEL_ADAPTER``
(``"package.module:Class"``); the default writes JSON lines to
``<VAR_DIR>/marketing/outreach-outbox.jsonl`` for a real gateway to pick up.
"""
import datetime as dt
import importlib
import json
import threading
import uuid

from services.common.config import var_dir

DEFAULT_ADAPTER = "services.marketing.channels:OutboxFileAdapter"


class OutboxFileAdapter:
    name = "outbox_file"
    _lock = threading.Lock()

    def __init__(self, config):
        self.path = var_dir(config) / "marketing" / "outreach-outbox.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message):
        ref = str(uuid.uuid4())
        line = dict(message, external_ref=ref,
                    queued_at=dt.datetime.now(dt.UTC).isoformat())
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        return {"status": "queued", "external_ref": ref}


def load_adapter(config):
    spec = (config or {}).get("MARKETING_CHANNEL_ADAPTER") or DEFAULT_ADAPTER
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)(config)
