"""unseen: audit face recognition for demographic bias, and redact faces - offline."""

__version__ = "0.1.0"
