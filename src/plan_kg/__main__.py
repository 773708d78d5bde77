"""`python -m plan_kg` is the `plan-kg` command."""

from .cli import main

main()
