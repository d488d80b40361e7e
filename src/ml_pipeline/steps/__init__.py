"""One module per pipeline step; each has a pure function and a thin `main(argv)`."""
