"""Audits: measure how unequally a face recognition or detection system treats groups.

Import the submodules you need (`unseen.audit.verification`, `unseen.audit.uncertainty`,
`unseen.audit.report`, ...); importing this package loads nothing heavy.
"""
