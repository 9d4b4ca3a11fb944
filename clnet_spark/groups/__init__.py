"""Groups of the kept network: Walktrap, stable identifiers, overlap with the SOC network."""
