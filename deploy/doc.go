// Package deploy holds the material that runs jobmanager outside `make dev`: the
// top-level docker-compose.yml and Dockerfile, the Kubernetes manifests and Temporal
// Helm values in kubernetes/, and the runbook in README.md. Its Go code is only the
// tests that keep those files valid (docker-compose config, strict decoding into the
// Kubernetes API types) and consistent with the code (search attributes, probe paths,
// variables); the dev stack and simulators live in the subpackages.
package deploy
