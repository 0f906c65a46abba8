"""Reading and writing files safely: originals untouched, outputs atomic, metadata gone."""
