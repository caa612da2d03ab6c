"""Cold-start products: a prior from what a product is, learned from responses to similar ones."""
