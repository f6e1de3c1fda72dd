"""Turn a Markdown release checklist into a template structure.

The package reads Markdown the way GitHub renders it (markdown-it-py's CommonMark
and GFM token stream) and maps it to a template by our own rules, documented in
the README ("Importing checklists"):

- decoding.py   bytes to text (UTF-8, UTF-16/32 with BOM, Windows-1252), mojibake
- blocks.py     the token stream to blocks and list-item trees, with line numbers
- outline.py    headings to phases and sections; items.py list items to entries
- people.py     sign-off roles and contacts; signals.py go/no-go thresholds
- template.py   parse_checklist, which runs the above in order

The parser never touches the database; `checklists.services.save_template` does.
"""

from deploychecks.checklists.parser.decoding import decode, repair_mojibake
from deploychecks.checklists.parser.model import (
    MAX_BYTES,
    MAX_LENGTHS,
    ChecklistParseError,
    Ignored,
    ImportReport,
    ParsedContact,
    ParsedItem,
    ParsedNote,
    ParsedPhase,
    ParsedSection,
    ParsedSignal,
    ParsedStep,
    ParsedSubCheck,
    ParsedTemplate,
)
from deploychecks.checklists.parser.template import UNTITLED, name_from_path, parse_checklist

__all__ = [
    "MAX_BYTES",
    "MAX_LENGTHS",
    "UNTITLED",
    "ChecklistParseError",
    "Ignored",
    "ImportReport",
    "ParsedContact",
    "ParsedItem",
    "ParsedNote",
    "ParsedPhase",
    "ParsedSection",
    "ParsedSignal",
    "ParsedStep",
    "ParsedSubCheck",
    "ParsedTemplate",
    "decode",
    "name_from_path",
    "parse_checklist",
    "repair_mojibake",
]
