"""crm import customers keeps two chunks in flight, in file order, and never
sends a chunk while another chunk with one of its USCCs is still in flight."""
from services.common.cli import _pipelined


class _Reply:
    def __init__(self, log, n):
        self.log, self.n = log, n

    def result(self):
        self.log.append(("answer", self.n))
        return self.n


class _Method:
    def __init__(self):
        self.log, self.sent = [], 0

    def call_async(self, part):
        self.sent += 1
        self.log.append(("send", self.sent, [r["uscc"] for r in part]))
        return _Reply(self.log, self.sent)


def _drain(method, rows, chunk):
    out = []
    for start, size, reply in _pipelined(method, rows, chunk):
        out.append((start, size, reply.result()))
    return out


def test_two_chunks_in_flight_answers_in_file_order():
    m = _Method()
    rows = [{"uscc": f"U{i}"} for i in range(5)]
    assert _drain(m, rows, 2) == [(0, 2, 1), (2, 2, 2), (4, 1, 3)]
    kinds = [e[0] for e in m.log]
    assert kinds == ["send", "send", "answer", "send", "answer", "answer"]


def test_a_uscc_repeated_in_a_later_chunk_waits_for_the_first():
    m = _Method()
    rows = [{"uscc": "A"}, {"uscc": "B"}, {"uscc": "b "}, {"uscc": "C"}]
    _drain(m, rows, 2)
    # chunk 2 repeats B (case and spaces ignored): it is sent only after chunk 1 answered
    assert m.log[:3] == [("send", 1, ["A", "B"]), ("answer", 1), ("send", 2, ["b ", "C"])]
