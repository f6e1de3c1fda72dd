"""Limits of the free text people type, shared by every app's services."""

# A reason (N/A, rollback, override) and a note on an item.
REASON_MAX = 1000
NOTE_MAX = 2000
