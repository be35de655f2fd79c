"""zoo/: the CURATED collection.

Owns: the registry of packaged entries (``registry``, files in ``entries/``), opening a
dataset from any source (``loading``: file, zoo id, Hub), the reference importer
(``reference`` reads the authors' ``.npz`` files, ``importer`` builds entries),
certificates and results tables (``certify``, ``results``, ``image_eval``), transfer
grids (``transfer``; over the zoo, with packaged scores: ``transfer_zoo``), multi-task datasets (``multitask``, ``multitask_train``),
dataset plots (``plotting``) and the catalogue site of every entry (``catalogue/``).
dataset plots (``plotting``; every figure's style: ``plot_style``) and replays
(``replay``: a SOURCE to a video; ``entry_replay``: an entry folder's ``replay.mp4``).

May import: ``hades_zoo.hub``, ``hades_zoo.engine``, ``hades_zoo.data``,
``hades_zoo.errors`` (never ``cli``).
"""
