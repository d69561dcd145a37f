"""Generated samples for the tests and the benchmarks: `pictures` makes user-like pictures of MNIST digits,
`userlike` the labelled user-like set, `community` the simulated community's handwriting (thick, slanted),
`other_hands` issue 24's independent numbers (never tuned on: only to measure), `third_hands` a third generator of
numbers written apart from both (never tuned on: only to measure), `pen_skip` single digits whose stroke came apart."""
