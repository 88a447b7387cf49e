using Xunit;

// Weight init and dropout without an explicit generator draw from libtorch's one global generator, RSS and live-tensor
// counts are process-wide, and thread budgets are measured per thread: run tests one at a time so each seeded test
// sees the same random stream on every run and each measurement sees only its own work.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
