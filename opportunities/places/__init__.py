"""Where things are: the offline gazetteer, the street-level address index, geocoding and placement."""
