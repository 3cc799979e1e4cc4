"""WaveNet vocoder: config, model, training recipe, generation (naive, cached, folded), inference adapter."""
