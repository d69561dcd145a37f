"""Generated samples for the tests and the benchmarks: `pictures` makes user-like pictures of MNIST digits."""
