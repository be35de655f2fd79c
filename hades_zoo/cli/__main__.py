"""``python -m hades_zoo.cli``: the same command line as ``hades-zoo``."""

from hades_zoo.cli import main

if __name__ == "__main__":
    main()
