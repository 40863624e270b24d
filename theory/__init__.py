"""SymPy side of advlandscape: derivations of the claims of Yamada, Kanai and Liu et al."""
