#!/usr/bin/python3
"""Parses Prometheus text exposition (stdin) with prometheus_client's own
parser, a second opinion on crid's output. Prints one line per sample,
`<name><sorted labels> <value>`, in a form the C++ tests can look up, after
one `# family <name> <type>` line per family. Exits non-zero (with the
parser's complaint on stderr) when the text does not parse or breaks a rule
the format sets for histograms."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def labels(d):
    if not d:
        return ""
    return "{" + ",".join('%s="%s"' % (k, v) for k, v in sorted(d.items())) + "}"


def check_histogram(family):
    # Per label set: cumulative buckets ending in +Inf, equal to _count.
    groups = {}
    for s in family.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        groups.setdefault(key, []).append(s)
    for key, samples in groups.items():
        buckets = [s for s in samples if s.name.endswith("_bucket")]
        counts = [s for s in samples if s.name.endswith("_count")]
        if not buckets or buckets[-1].labels.get("le") != "+Inf":
            raise ValueError("%s%s: no +Inf bucket last" % (family.name, key))
        values = [b.value for b in buckets]
        if values != sorted(values):
            raise ValueError("%s%s: buckets not cumulative" % (family.name, key))
        if not counts or counts[0].value != buckets[-1].value:
            raise ValueError("%s%s: _count differs from the +Inf bucket" % (family.name, key))


def main():
    text = sys.stdin.read()
    try:
        out = []
        for family in text_string_to_metric_families(text):
            out.append("# family %s %s" % (family.name, family.type))
            if family.type == "histogram":
                check_histogram(family)
            for s in family.samples:
                out.append("%s%s %r" % (s.name, labels(s.labels), float(s.value)))
    except Exception as e:  # the parser raises ValueError and friends
        print("parse error: %s" % e, file=sys.stderr)
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
