"""What tests and benchmarks share: loopback HTTP stand-ins, the hostile-document cases, the
headless browser's settings. Part of neither the product nor the test suite, so a benchmark
never imports a test's internals."""
