"""``python -m symdescent`` works like ``symdescent``."""

from symdescent.cli import main

if __name__ == "__main__":
    main(prog_name="symdescent")
