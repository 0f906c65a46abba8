"""Hide faces in photos: cover, verify, record."""
