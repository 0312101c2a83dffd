"""``python -m gen3d`` runs the command line."""

from gen3d.cli import main

main()
