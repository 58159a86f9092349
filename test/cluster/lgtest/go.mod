// The program inside every test image of the cluster suite (and its load generator, run on the
// host). Standard library only; built static (CGO_ENABLED=0) so an image needs nothing else.
module lifecycle-guard.local/lgtest

go 1.26.0
