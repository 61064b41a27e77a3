"""Access requests (art. 15; R11-R14): scope, recordings store, import, redaction, package."""
