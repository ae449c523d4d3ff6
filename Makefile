# Every recipe runs with scripts/env.sh sourced: Node >= 22 and node_modules/.bin on PATH.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source scripts/env.sh &&

.PHONY: setup generate lint breaking check-generated artifacts golden typecheck test build run kafka-up kafka-down mongo-up mongo-down bench bench-smoke

setup:
	@./scripts/setup.sh

## Regenerate all of gen/ from the protos with the pinned buf and our plugins.
generate: setup
	@./scripts/generate.sh

## Biome (biome.jsonc: lint + format + import order of the TS/JS/JSON; warnings fail too, so
## they cannot pile up), then buf lint and buf format of the protos.
lint: setup
	@$(ENV) biome ci --error-on-warnings . && buf lint && buf format --diff --exit-code

## buf breaking against the previous commit of main (or BREAKING_AGAINST=<ref>).
breaking: setup
	@./scripts/buf-breaking.sh $${BREAKING_AGAINST:-HEAD~1}

## Fails when gen/ differs from what the protos generate.
check-generated: setup
	@./scripts/check-generated.sh

## dist/: npm packages, Python wheel, Go module, JSON Schemas, buf image, OpenAPI (refuses on a stale
## gen/ or a breaking proto change without a major version bump; see scripts/artifacts/build.sh).
artifacts: setup
	@./scripts/artifacts/build.sh

## Rewrites the plugins' golden files from their fixture protos.
golden: setup
	@$(ENV) UPDATE_GOLDEN=1 vitest run codegen

typecheck: setup
	@$(ENV) tsc -p tsconfig.json

## The whole suite (what CI runs): lint, generated-code check, types, tests with a real Kafka.
test: setup
	@./scripts/test.sh

## The server as plain JavaScript in build/ (esbuild, ~1 s; scripts/build.sh): bin/tracking runs it
## while it is newer than every server/, sdk/ and gen/ source, else the sources with tsx.
build: setup
	@./scripts/build.sh

## The product on its embedded default (no Kafka needed), from a fresh build.
run: build
	@./bin/tracking serve $(ARGS)

kafka-up:
	@./scripts/kafka/up.sh

kafka-down:
	@./scripts/kafka/down.sh

## FerretDB (MongoDB wire protocol on SQLite) on 127.0.0.1:27017 for --config-store mongodb://127.0.0.1:27017/tracking;
## built from the Go module proxy into .tools/ferretdb on first use. mongo-down ARGS=--wipe deletes its data.
mongo-up:
	@./scripts/mongo/up.sh

mongo-down:
	@./scripts/mongo/down.sh $(ARGS)

## Benchmarks (BENCHMARKS.md): broker + server + load in one bounded run.
## (the server measured is bin/tracking on a fresh build/, as in production)
bench: build
	@./bench/run.sh

bench-smoke: build
	@./bench/run.sh --smoke
