"""data/: what a dataset IS.

Owns: ``SyntheticDataset`` and ``DatasetInfo`` (``dataset``), the safetensors file
format and its metadata schema (``format``), what a dataset records about its env
provider (``env_provider``), dataset ids (``ids``), recipes: the frozen
config tree that is also a dataset's protocol (``recipe``, strict YAML/JSON in
``recipe_io``; HaDES-RR's ``inner_loop`` ranges in ``inner_loop``), normalisation statistics (``normalization``), and where files live
(``cache``: cache root, sha256, atomic writes; ``paths``: the one gate from a
name to a file name; ``destinations``: the one gate for a user-given output path),
and bounded readers of untrusted input (``untrusted``: regular
files of sane size, JSON and YAML of bounded depth, YAML without aliases).

May import: ``hades_zoo.errors`` only (plus numpy, safetensors, flax.struct, yaml).
Nothing here simulates an env or trains a network; checking that a dataset fits its
env is ``hades_zoo.engine.envs.check_dataset_fits_env``.
"""
