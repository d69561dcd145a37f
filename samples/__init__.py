"""Generated samples for the tests and the benchmarks: `pictures` makes user-like pictures of MNIST digits,
`userlike` the labelled user-like set, `community` the simulated community's handwriting (thick, slanted),
`other_hands` numbers in other hands (issue 24's independent yardstick until 2026-12-07, tuned on since),
`third_hands` a third generator of numbers written apart from both (issue 24's yardstick now: never tuned on, only to
measure), `pen_skip` single digits whose stroke came apart."""
