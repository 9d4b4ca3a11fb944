"""Deal lines: phone numbers and line names in free text (``docs/lines.md``)."""
