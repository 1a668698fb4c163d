"""labeling: a self-hosted data-labeling and human-feedback platform."""

__version__ = "0.1.0"
