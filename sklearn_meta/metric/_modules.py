"""Embedding networks to plug into the ``module`` parameter of the torch learners."""

from numbers import Integral

import numpy as np
from torch import nn

__all__ = ["ConvEmbedding"]


class _ConvNet(nn.Module):
    """Convolutional blocks over rows reshaped to ``shape``, flattened; a linear read-out
    to ``n_outputs`` only with ``head``."""

    def __init__(self, shape, n_outputs, channels, n_blocks, head):
        super().__init__()
        in_channels, spatial = (shape[0], shape[1:]) if len(shape) == 3 else (1, shape)
        conv, pool = (nn.Conv1d, nn.MaxPool1d) if len(spatial) == 1 else (nn.Conv2d, nn.MaxPool2d)
        self.shape = (in_channels, *spatial)
        layers, size = [], np.array(spatial)
        for i in range(n_blocks):
            layers += [conv(in_channels if i == 0 else channels, channels, 3, padding=1),
                       nn.ReLU()]
            if size.min() >= 2:  # halve the resolution while there is any left
                layers.append(pool(2))
                size = size // 2
        layers.append(nn.Flatten())
        if head:
            layers.append(nn.Linear(channels * int(np.prod(size)), n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        lead = x.shape[:-1]  # any leading (task, row) dimensions
        return self.layers(x.reshape(-1, *self.shape)).reshape(*lead, -1)


class ConvEmbedding:
    """A convolutional network for rows that are small images or signals.

    Pass an instance as the ``module`` of a torch learner (for example
    :class:`~sklearn_meta.metric.ProtoNetClassifier`) when every row is a flattened
    image (e.g. the 64 pixels of scikit-learn's 8x8 digits) or a 1-D signal (a
    spectrum, a sensor window). Weight sharing across positions is a prior that the
    default MLP lacks: an embedding meta-trained on a few classes then carries over to
    unseen classes much better (see :ref:`metric_learners`).

    The network is ``n_blocks`` blocks of a 3-wide convolution with ``channels``
    filters and a ReLU, each followed by a max-pooling of stride 2 while the
    resolution allows (the blocks of Snell et al.'s prototypical networks, without
    batch normalisation, which would mix the tasks of a meta-batch). Its output is
    the flattened feature map of the last block, of size ``channels`` times the
    positions left (128 for 8x8 images and the defaults), unless ``head=True``.

    Parameters
    ----------
    image_shape : tuple of int
        Shape of one row before flattening, in C order: ``(length,)`` for a signal,
        ``(height, width)`` for an image, ``(channels, height, width)`` for an image
        with several channels. Its product must equal the number of features.
    channels : int, default=32
        Filters per convolution.
    n_blocks : int, default=2
        Convolution blocks.
    head : bool, default=False
        Add a linear layer to the output size the learner asks for. Without it
        (the default, for :class:`~sklearn_meta.metric.ProtoNetClassifier`) that
        size, ``embedding_dim``, is not used: on held-out digits a linear read-out
        over-fitted the few meta-training classes. Learners whose outputs are class
        scores or predictions (the gradient-based family) need ``head=True``.

    Examples
    --------
    >>> from sklearn_meta.metric import ConvEmbedding
    >>> import torch
    >>> net = ConvEmbedding(image_shape=(8, 8))(64, 16)  # what a learner calls
    >>> net(torch.zeros(3, 5, 64)).shape  # (tasks, rows, features) -> embeddings
    torch.Size([3, 5, 128])
    >>> net = ConvEmbedding(image_shape=(8, 8), head=True)(64, 16)
    >>> net(torch.zeros(3, 5, 64)).shape
    torch.Size([3, 5, 16])
    """

    def __init__(self, image_shape, *, channels=32, n_blocks=2, head=False):
        self.image_shape = image_shape
        self.channels = channels
        self.n_blocks = n_blocks
        self.head = head

    def __repr__(self):
        return (f"ConvEmbedding(image_shape={self.image_shape!r}, "
                f"channels={self.channels}, n_blocks={self.n_blocks}, head={self.head})")

    def __call__(self, n_features, n_outputs):
        shape = self.image_shape
        if (isinstance(shape, Integral) or not hasattr(shape, "__len__")
                or not 1 <= len(shape) <= 3
                or not all(isinstance(s, Integral) and s > 0 for s in shape)):
            raise ValueError(
                "image_shape must be a tuple of 1 to 3 positive integers, (length,), "
                f"(height, width) or (channels, height, width); got {shape!r}."
            )
        for name in ("channels", "n_blocks"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if int(np.prod(shape)) != int(n_features):
            raise ValueError(
                f"image_shape={tuple(shape)!r} holds {int(np.prod(shape))} values but the "
                f"rows have {n_features} features; pass the shape of one row before "
                "flattening."
            )
        return _ConvNet(tuple(int(s) for s in shape), int(n_outputs), int(self.channels),
                        int(self.n_blocks), bool(self.head))
