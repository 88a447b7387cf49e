using Xunit;

// Weight init and dropout draw from libtorch's one global generator: run tests one at a time so each seeded test
// sees the same random stream on every run.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
