"""The demo: the network's demo cities, providers and opportunities, generated deterministically."""
