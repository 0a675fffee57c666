"""dope-or-nope engine: embed product images, index them per variant, search by photo."""
