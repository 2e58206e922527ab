"""Operating an installation as a whole: backup and restore."""
