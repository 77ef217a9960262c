"""Speech recognition: the engine protocol, the vosk engine and the bounded worker pool."""
