"""The audio task: a byte-in, byte-out streaming parametric equalizer for interleaved PCM."""
