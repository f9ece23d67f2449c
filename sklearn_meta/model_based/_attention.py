"""Attention modules of the neural-process learners (set-transformer style).

:class:`AttentiveMemory` reads a support set into a memory and lets query rows attend to
it, batched over tasks with padding masks:

1. every support row becomes a *token*: its row encoding plus an encoding of its target
   (regression: the value; classification: the mean encoding of its class, so labels
   enter without any fixed class vocabulary and any number of classes works);
2. a few self-attention blocks (multi-head attention + feed-forward, pre-norm residual,
   as in the Set Transformer's SAB) mix the tokens: every row sees the whole task;
3. a learned *null token* is always added to the memory, so an empty support set (the
   zero-shot prediction) and fully padded tasks are well defined;
4. query rows cross-attend to the memory (attentive neural process) and get a
   task-aware representation.
"""

import torch
from torch import nn

from .._nn._prototypes import class_prototypes, prototype_logits

__all__ = []


class _Block(nn.Module):
    """Pre-norm residual attention block: ``x + MHA(x, mem)``, then ``+ FFN``."""

    def __init__(self, dim, n_heads):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))

    def forward(self, x, mem, pad):
        kv = self.norm_kv(mem)
        h, _ = self.attn(self.norm_q(x), kv, kv, key_padding_mask=pad, need_weights=False)
        x = x + h
        return x + self.ff(self.norm_ff(x))


class AttentiveMemory(nn.Module):
    """Support set -> memory -> query representations.

    Parameters
    ----------
    encoder : nn.Module
        Row encoder ``(..., n_features) -> (..., dim)`` (the default MLP or the user's
        ``module``).
    dim : int
        Width of tokens and representations.
    target : {"value", "class"}
        How a support row's target enters its token.
    n_heads : int
    n_layers : int
        Self-attention blocks over the support tokens.
    """

    def __init__(self, encoder, dim, target, n_heads=4, n_layers=2):
        super().__init__()
        self.encoder = encoder
        self.target = target
        self.dim = dim
        if target == "value":
            self.target_encoder = nn.Sequential(nn.Linear(1, dim), nn.ReLU(), nn.Linear(dim, dim))
        else:
            self.target_encoder = nn.Linear(dim, dim)
        self.null = nn.Parameter(torch.zeros(1, 1, dim))
        self.self_blocks = nn.ModuleList(_Block(dim, n_heads) for _ in range(n_layers))
        self.cross = _Block(dim, n_heads)
        self.out_norm = nn.LayerNorm(dim)

    def memory(self, X_s, y_s, m_s, n_classes=None):
        """Memory tokens (T, n_s + 1, dim) and their padding mask (True = ignore).

        ``y_s``: float (T, n_s) values or int64 (T, n_s) class codes ``< n_classes``.
        """
        h = self.encoder(X_s)
        if self.target == "value":
            t = self.target_encoder(y_s.unsqueeze(-1).to(h.dtype))
        else:
            means, _ = class_prototypes(h, y_s, m_s, n_classes)
            t = self.target_encoder(means.gather(
                -2, y_s.unsqueeze(-1).expand(*y_s.shape, h.shape[-1])))
        tokens = torch.cat([self.null.expand(h.shape[0], 1, -1), h + t], dim=-2)
        pad = torch.cat(
            [torch.zeros(m_s.shape[0], 1, dtype=torch.bool, device=m_s.device), m_s <= 0],
            dim=-1,
        )
        for block in self.self_blocks:
            tokens = block(tokens, tokens, pad)
        return tokens, pad

    def read(self, X_q, tokens, pad):
        """Query representations (T, n_q, dim) and their row encodings."""
        h = self.encoder(X_q)
        r = self.out_norm(self.cross(h, tokens, pad))
        return r, h


class NeuralProcessNet(nn.Module):
    """The whole in-context learner: memory of the support set + prediction head.

    :meth:`encode` turns a support set into a *context* (a dict of tensors: what
    ``adapt`` stores); :meth:`decode` predicts query rows from it. ``target="value"``:
    the Gaussian mean and standard deviation (T, n_q) of every query row.
    ``target="class"``: logits (T, n_q, n_classes), the negative squared distances
    between the query representations and the class means of the memory tokens (any
    number of classes).
    """

    def __init__(self, encoder, dim, target, n_heads=4, n_layers=2):
        super().__init__()
        self.memory = AttentiveMemory(encoder, dim, target, n_heads, n_layers)
        if target == "value":
            self.head = nn.Sequential(
                nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(),
                nn.Linear(dim, 2),
            )
        else:
            self.head = nn.Linear(dim, dim)

    def encode(self, X_s, y_s, m_s, n_classes=None):
        tokens, pad = self.memory.memory(X_s, y_s, m_s, n_classes)
        context = {"tokens": tokens, "pad": pad}
        if self.memory.target == "class":
            reps, counts = class_prototypes(self.head(tokens[:, 1:]), y_s, m_s, n_classes)
            context.update(reps=reps, valid=counts > 0)
        return context

    def decode(self, X_q, context):
        r, h = self.memory.read(X_q, context["tokens"], context["pad"])
        if self.memory.target == "value":
            out = self.head(torch.cat([r, h], dim=-1))
            return out[..., 0], 1e-3 + nn.functional.softplus(out[..., 1])
        return prototype_logits(self.head(r), context["reps"], context["valid"])

    def forward(self, X_s, y_s, m_s, X_q, n_classes=None):
        return self.decode(X_q, self.encode(X_s, y_s, m_s, n_classes))
