"""`python -m huiqi`: the same command line as the `huiqi` entry point (allocator settings first, ALLOC-1)."""

from huiqi.interfaces.cli import main

if __name__ == "__main__":
    main()
