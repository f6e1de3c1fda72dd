from pathlib import Path

from django import forms
from django.conf import settings

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.checklists.parser import ChecklistParseError, decode, name_from_path

_TEXT_TYPES = {"text/markdown", "text/x-markdown", "text/plain", "text/x-web-markdown"}
# Browsers often send these for .md files they do not recognise.
_VAGUE_TYPES = {"", "application/octet-stream"}
_SUFFIXES = {".md", ".markdown", ".txt", ".mdown"}


class ImportForm(forms.Form):
    markdown_file = forms.FileField(
        required=False,
        label="Markdown file",
        help_text="A .md file up to 1 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".md,.markdown,.txt,text/markdown"}),
    )
    # strip=False: Markdown is whitespace-sensitive (an indented first line is a
    # sub-check, not an item), so the text is parsed exactly as pasted.
    markdown_text = forms.CharField(
        required=False,
        strip=False,
        label="…or paste Markdown",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )
    template = forms.ModelChoiceField(
        queryset=ChecklistTemplate.objects.all(),
        required=False,
        label="Save as a new revision of",
        empty_label="— a new template —",
    )
    change_note = forms.CharField(required=False, max_length=300, label="Change note")
    # The uploaded file's name, kept across "Preview" then "Save" (which posts the
    # text only): it names a checklist that has no title of its own.
    source_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    # Set when a file is uploaded: how its bytes were decoded, and its name.
    encoding = "pasted text"
    file_name = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser does not send a larger paste at all (static/js/app.js): the
        # whole request would be refused, with the text, before this form saw it.
        self.fields["markdown_text"].widget.attrs["data-max-bytes"] = settings.IMPORT_MAX_BYTES

    def clean_markdown_file(self):
        upload = self.cleaned_data.get("markdown_file")
        if not upload:
            return None
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        suffix = Path(upload.name or "").suffix.lower()
        if content_type not in _TEXT_TYPES and not (
            content_type in _VAGUE_TYPES and suffix in _SUFFIXES
        ):
            raise forms.ValidationError(
                f"“{upload.name}” is {content_type or 'of no stated type'}; upload a Markdown "
                "text file (.md, text/markdown or text/plain)."
            )
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"“{upload.name}” is {upload.size:,} bytes; the limit is "
                f"{settings.IMPORT_MAX_BYTES:,} bytes (1 MB)."
            )
        try:
            text, self.encoding = decode(upload.read())
        except ChecklistParseError as exc:
            raise forms.ValidationError(f"“{upload.name}”: {exc}") from None
        self.file_name = name_from_path(upload.name or "")
        return text

    def clean(self):
        data = super().clean()
        text = data.get("markdown_file") or data.get("markdown_text") or ""
        data["encoding"] = self.encoding
        if data.get("markdown_file"):
            data["source_name"] = self.file_name
        if not self.errors and not text.strip():
            raise forms.ValidationError("Choose a Markdown file or paste the checklist text.")
        if len(text.encode("utf-8")) > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The text is larger than {settings.IMPORT_MAX_BYTES:,} bytes (1 MB)."
            )
        data["source"] = text
        return data


class EditForm(forms.Form):
    markdown_text = forms.CharField(
        label="Markdown",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
        max_length=1_000_000,
        strip=False,
    )
    change_note = forms.CharField(required=False, max_length=300, label="What changed")
