"""Parse time of the Markdown importer on a generated 1 MB, 10,000-item checklist.

    .venv/bin/python bench/importer.py [--repeat 7]

No database: `parse_checklist` never touches one. Prints one `key=value` line:
the importer's time (bytes in, ParsedTemplate out), and in the same run, as a
reference, markdown-it-py tokenizing the same text as a plain CommonMark + tables
parser does (block and inline rules, the collector running as usual), and the
ratio. Also the block-only tokenizing the importer itself runs, for comparison.
Times are the best of `--repeat` runs (the machine is shared; the best is the
least disturbed), with the median beside it.
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markdown_it import MarkdownIt  # noqa: E402

from bench.benchenv import calibrate  # noqa: E402
from deploychecks.checklists.parser import MAX_BYTES, parse_checklist  # noqa: E402
from deploychecks.checklists.parser.blocks import read_document  # noqa: E402
from deploychecks.checklists.parser.decoding import source_lines  # noqa: E402

ITEMS = 10_000


def _item(n: int) -> list[str]:
    """One item as real checklists write them: a bold title and a summary, and
    every other item a detail line, every third a sub-check."""
    lines = [f"- [ ] **Check service {n}** after the switch on web-{n % 97}"]
    if n % 2 == 0:
        lines.append(f"  - dashboard `latency-{n}` stays under the p95 target")
    if n % 3 == 0:
        lines.append(f"  - [ ] logs of web-{n % 97} show no new errors")
    return lines


def generate(items: int = ITEMS) -> bytes:
    """A checklist of exactly `items` items in phases of five sections, a timed step
    in each phase, comments, a threshold table and contacts; padded with notes to
    just under the 1 MB limit."""
    lines = ["# Generated release checklist", "", "Bench input for bench/importer.py.", ""]
    n = phase = 0
    while n < items:
        phase += 1
        lines += [f"## Phase {phase}: rollout wave {phase} (day {phase})", ""]
        lines += ["<!-- Fill in the owner of this wave before the release. -->", ""]
        for section in range(1, 6):
            lines += [f"### Section {phase}.{section}", ""]
            count = min(40, items - n)
            if section == 5 and count >= 5:
                lines.append(f"1. **Switch wave {phase}** (0-10 minutes)")
                for _ in range(5):
                    n += 1
                    lines += ["   " + line for line in _item(n)]
                lines.append("")
                count -= 5
            for _ in range(count):
                n += 1
                lines += _item(n)
            lines.append("")
            if n >= items:
                break
    text = "\n".join(lines + _tail()) + "\n"
    return _pad(text).encode("utf-8")


def _tail() -> list[str]:
    return [
        "## Go/no-go thresholds",
        "",
        "| Signal | Green | Yellow | Red |",
        "|---|---|---|---|",
        "| Error rate (%) | < 0.5 | 0.5–1 | > 1 (rollback if sustained > 5 minutes) |",
        "",
        "## Contacts",
        "",
        "- Release lead: Ana <ana@example.com>",
        "",
    ]


def _pad(text: str) -> str:
    """Fill up to 1 MB with notes (prose the importer keeps), without new items."""
    room = MAX_BYTES - len(text.encode("utf-8")) - 200
    if room <= 0:
        return text
    filler = "Background notes for the release team, kept with the template. " * 8
    notes = ["## Notes", ""]
    while room > len(filler) + 2:
        notes += [filler.strip(), ""]
        room -= len(filler) + 2
    return text + "\n".join(notes) + "\n"


def timed(repeat: int, action) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=7)
    args = options.parse_args()
    data = generate()
    text = data.decode("utf-8")
    counts = parse_checklist(data).counts()
    assert counts["items"] == ITEMS, counts
    plain = MarkdownIt("commonmark").enable("table")
    ours, ours_median = timed(args.repeat, lambda: parse_checklist(data))
    reference, reference_median = timed(args.repeat, lambda: plain.parse(text))
    blocks, _ = timed(args.repeat, lambda: read_document(source_lines(text)[0]))
    gc.collect()
    print(
        f"bytes={len(data)} items={counts['items']} subchecks={counts['subchecks']} "
        f"steps={counts['steps']} phases={counts['phases']} "
        f"importer_s={ours:.3f} importer_median_s={ours_median:.3f} "
        f"markdown_it_s={reference:.3f} markdown_it_median_s={reference_median:.3f} "
        f"ratio={ours / reference:.2f} importer_blocks_s={blocks:.3f} "
        f"calib_ms={calibrate():.0f} load={os.getloadavg()[0]:.2f} "
        f"target_s=1.0 {'met' if ours < 1.0 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
