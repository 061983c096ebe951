"""What became of each signal: pure rules over later bars, and the service that stores them."""
