"""`python -m ihub`: the `ihub` command, for the processes `ihub up` starts."""

from ihub.entry import main

main()
