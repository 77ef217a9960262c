"""Recording files: catalogue (duration, size, checksum), retention, playback audit."""
