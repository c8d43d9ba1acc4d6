"""Errors raised by the geometry backend. Each message says what was expected and what was found."""


class AtlasError(ValueError):
    """Base class: bad input or a model the tool cannot use. The app shows str(error) to the user."""


class ImageError(AtlasError):
    """An image that cannot be read or does not fit the model (corrupt, too large, wrong shape)."""


class ModelLoadError(AtlasError):
    """A model or checkpoint that cannot be loaded (missing weights, wrong architecture, unsafe file)."""


class ModelError(AtlasError):
    """A model that misbehaves during a computation (NaN outputs, no gradient)."""
