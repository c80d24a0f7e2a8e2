"""`python -m livepresenter` is the same as the `livepresenter` console script."""

from livepresenter.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
