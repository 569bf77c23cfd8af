"""Summarise a py-spy raw (collapsed) profile: where the samples go.

    .venv/bin/python -m bench.flame bench/results/profile-R4-reporting.txt [--top 30]
"""
import argparse
import collections


def summarise(path, top=30, match="services/"):
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in open(path, encoding="utf-8"):
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        seen = set()
        for fr in frames:
            if fr not in seen:
                inclusive[fr] += n
                seen.add(fr)
        ours = [fr for fr in frames if match in fr]
        if ours:
            own[ours[-1]] += n
    return total, inclusive.most_common(top), own.most_common(top)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--match", default="services/")
    a = ap.parse_args()
    total, inc, own = summarise(a.path, a.top, a.match)
    print(f"{total} samples\n-- inclusive --")
    for fr, n in inc:
        print(f"{n / total:6.1%}  {fr[:150]}")
    print(f"-- deepest frame matching {a.match!r} --")
    for fr, n in own:
        print(f"{n / total:6.1%}  {fr[:150]}")


if __name__ == "__main__":
    main()
