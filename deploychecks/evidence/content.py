"""What a file is, read from its first bytes: never from its name or the
Content-Type the browser sent (both are the uploader's to choose).

Screenshots (PNG, JPEG, GIF, WebP), PDFs and plain text (log excerpts) are
accepted. Text must be UTF-8 without control characters and must not start
like markup: an HTML page named `screenshot.png` is refused, not stored.
"""

import re
from dataclasses import dataclass

# How much of a file is read to tell its type (and, for text, to check it).
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    label: str


PNG = FileType("image/png", "png", "PNG image")
JPEG = FileType("image/jpeg", "jpg", "JPEG image")
GIF = FileType("image/gif", "gif", "GIF image")
WEBP = FileType("image/webp", "webp", "WebP image")
PDF = FileType("application/pdf", "pdf", "PDF document")
TEXT = FileType("text/plain; charset=utf-8", "txt", "text")

ACCEPTED = "PNG, JPEG, GIF or WebP screenshots, PDF documents and plain-text logs"

# The WHATWG MIME sniffing standard's HTML patterns (and XML/SVG): a text that
# starts like one of these is markup, whatever its name says.
_MARKUP_RE = re.compile(
    rb"^\s*<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body"
    rb"|br|p|svg|\?xml|!--|meta|link|img|object|embed|form)(?:[\s>/]|$)",
    re.I,
)
# Tab, line feed, form feed and carriage return are text; other C0 controls
# (NUL above all) and DEL are not.
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(head: bytes) -> FileType | None:
    """The type of a file that starts with `head` (up to HEAD_BYTES), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if _is_text(head):
        return TEXT
    return None


def _is_text(head: bytes) -> bool:
    body = head.removeprefix(b"\xef\xbb\xbf")
    if not body.strip() or _CONTROL_RE.search(body) or _MARKUP_RE.match(body):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end inside a character: only its last 3 bytes may be cut.
        if error.start < len(body) - 3 or len(head) < HEAD_BYTES:
            return False
    return True


def download_name(filename: str, file_type: FileType) -> str:
    """The uploaded name's stem with the extension of what the file really is."""
    stem = filename.rsplit(".", 1)[0] if "." in filename.strip(".") else filename
    stem = re.sub(r"[^\w.\- ]+", "_", stem).strip(" ._")[:100] or "evidence"
    return f"{stem}.{file_type.extension}"


def by_content_type(content_type: str) -> FileType | None:
    for file_type in (PNG, JPEG, GIF, WEBP, PDF, TEXT):
        if file_type.content_type == content_type:
            return file_type
    return None


def size_label(n_bytes: int) -> str:
    """A size for people, the one way the evidence pages and messages say it
    (the limit, a refusal, the files listed): powers of 1024 named KB, MB, GB as
    Django's `filesizeformat` names them, at most one decimal and none when
    whole ("10 MB", "10.6 MB", "1000 bytes")."""
    if n_bytes < 1024:
        return "1 byte" if n_bytes == 1 else f"{n_bytes} bytes"
    value = n_bytes / 1024
    for unit in ("KB", "MB", "GB"):
        if round(value, 1) < 1024 or unit == "GB":  # 1,048,575 bytes: "1 MB", not "1024 KB"
            break
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"
