"""The networks Restyle runs: one module per family, plus descriptors in `registry`."""
