"""Bytes to text, and text to the lines the importer reads.

UTF-8 (with or without a BOM), UTF-16 or UTF-32 with a BOM, and Windows-1252
when the bytes are not UTF-8: what editors on Windows save. UTF-8 that was once
read as Windows-1252 and saved again ("âœ…" for "✅", as in the seed) is repaired.
"""

from __future__ import annotations

import codecs
import re

from deploychecks.checklists.parser.model import MAX_BYTES, ChecklistParseError

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 with BOM"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 with BOM"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 with BOM"),
]
WINDOWS_1252 = "Windows-1252"


def _c1_as_latin1(error: UnicodeDecodeError) -> tuple[str, int]:
    # Five bytes have no Windows-1252 character; browsers read them as the C1
    # controls of Latin-1, and so do we rather than refusing the file.
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("deploychecks-c1", _c1_as_latin1)


def check_size(length: int) -> None:
    if length > MAX_BYTES:
        raise ChecklistParseError(
            f"the file is {length:,} bytes; the limit is {MAX_BYTES:,} bytes (1 MB)"
        )


def decode(data: bytes) -> tuple[str, str]:
    """(text, the name of the encoding used), or ChecklistParseError."""
    check_size(len(data))
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), name
            except UnicodeDecodeError as exc:
                raise ChecklistParseError(
                    f"the file starts with a {name} mark but {exc.reason}"
                ) from None
    if b"\x00" in data:
        raise ChecklistParseError("this looks like a binary file, not Markdown text")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="deploychecks-c1"), WINDOWS_1252


# --- Mojibake ---------------------------------------------------------------------

_CP1252_HIGH = {
    ch for b in range(0x80, 0x100) if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}
_MOJIBAKE_RE = re.compile("[\u00c2-\u00f4][" + re.escape("".join(sorted(_CP1252_HIGH))) + "]+")


def _repair_run(match: re.Match) -> str:
    run = match.group(0)
    try:
        raw = run.encode("cp1252")
    except UnicodeEncodeError:
        return run
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False: a trailing byte lost in the bad round trip (cp1252 has
        # no character for 0x8F) leaves an incomplete sequence, which is dropped.
        fixed = decoder.decode(raw, final=False)
    except UnicodeDecodeError:
        return run
    return fixed if fixed and len(fixed) < len(run) else run


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was read as Windows-1252, e.g. 'âœ…' back to '✅'."""
    return _MOJIBAKE_RE.sub(_repair_run, text)


def count_mojibake(text: str) -> int:
    return sum(1 for m in _MOJIBAKE_RE.finditer(text) if _repair_run(m) != m.group(0))


def source_lines(text: str) -> tuple[list[str], int]:
    """The lines the importer reads, and how many mojibake runs were repaired.

    One newline convention, tabs as 4-column stops, no trailing spaces. Tabs only
    matter for indentation, where CommonMark counts them as stops of 4, so
    expanding them keeps the block structure."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ChecklistParseError(f"the text is larger than {MAX_BYTES:,} bytes (1 MB)")
    if "\x00" in text:
        raise ChecklistParseError("this looks like a binary file, not Markdown text")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    repaired = repair_mojibake(text)
    count = count_mojibake(text) if repaired != text else 0
    if "\t" in repaired:
        return [line.expandtabs(4).rstrip() for line in repaired.split("\n")], count
    return [line.rstrip() for line in repaired.split("\n")], count
