"""Sequence-to-sequence voice conversion: log-mel -> conv front end -> pyramidal BLSTM (+ CTC phoneme
head) -> Tacotron decoder with location-sensitive attention, started from the default voice's decoder."""
