"""The core: the maths of backpropagation, readable top to bottom, on NumPy.

``activations`` (paired ``f`` and ``f'``), ``losses`` (the output error ``dZ``), ``initializers``,
``layers`` (``Dense``: forward and the three lines of backward), ``network`` (``Network``,
``forward``, ``backward``), ``optimizers`` (small classes, ``torch.optim``'s rules). The checks
of what goes in live beside it in :mod:`chainrule.inputs`. Nothing here exists only for speed:
that is the compiled engine's job (:mod:`chainrule.engine`), tested equal to this.
"""
