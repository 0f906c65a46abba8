"""The local review page: see, correct and export redactions in a browser (`unseen serve`).

`session` holds what a person reviews and exports (the same functions as `unseen redact`),
`app` is the FastAPI application that guards every request, `server` runs it on 127.0.0.1.
"""
