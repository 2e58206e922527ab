"""Recognition: Open Badges 3.0 credentials, what is stored of them, claims, playlists, revocation."""
