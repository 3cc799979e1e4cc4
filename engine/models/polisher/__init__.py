"""The pix2pix mel polisher: a U-Net generator that sharpens an acoustic model's over-smoothed
log-mels, trained against a convolutional PatchGAN discriminator (engine.models.polisher.recipe)."""
