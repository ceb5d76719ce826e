# recopub: make run (the job on sample data), make test (every test).
GO        ?= go
BIN       := bin/recopub
REDIS_URL ?= redis://127.0.0.1:6379/0
SAMPLE    := sample
export REDIS_URL

.PHONY: all build run test test-short bench bench-shards fuzz lint redis-server interop-node notebooks notebook-deps image clean

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/recopub

$(SAMPLE)/events: | build
	$(BIN) gen --out $(SAMPLE)

# The main job on sample data: generate (once), run against REDIS_URL or,
# when nothing answers there, an in-process embedded Redis; print samples.
run: build $(SAMPLE)/events
	$(BIN) run --events $(SAMPLE)/events --profiles $(SAMPLE)/profiles \
		--redis $(REDIS_URL) --embedded-fallback --show 3 --log-level warn

# Every test, the Redis integration tests included. Tests start their own
# redis-server processes on free private ports. ./... skips testdata/, so
# the interoperability suite (testdata/interop) is named explicitly.
test: redis-server lint interop-node
	$(GO) test -race -count=1 ./... ./testdata/interop/...

test-short:
	$(GO) test -count=1 ./... ./testdata/interop/...

# The interoperability suite's writer outside Go: DuckDB from npm
# (testdata/interop/node), installed from package-lock.json when that is
# newer than node_modules. Without npm the suite skips the DuckDB files
# with a message, except under CI, which installs Debian's nodejs and npm.
INTEROP_NODE := testdata/interop/node
interop-node:
	@if ! command -v npm >/dev/null 2>&1; then \
		if [ -n "$$CI" ]; then \
			echo "installing nodejs npm (CI)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null) || exit 1; \
		else \
			echo "npm not found: the interop suite will skip its DuckDB files; install Node.js 20+ and npm to include them"; exit 0; \
		fi; \
	fi; \
	if [ ! -f $(INTEROP_NODE)/node_modules/.package-lock.json ] || [ $(INTEROP_NODE)/package-lock.json -nt $(INTEROP_NODE)/node_modules/.package-lock.json ]; then \
		cd $(INTEROP_NODE) && npm ci --no-audit --no-fund; \
	fi

# Package benchmarks, then recopub's publish side by side with
# redis-cli --pipe on fresh private servers: prints keys/s, the ratios
# against the targets (neighbour lists >= 3x, feature hashes >= 1x) and
# the load average, and fails when a ratio misses its target. Then
# publish --from of a 5M-event model against redis-cli --pipe RESTOREing
# the same payloads (at most 1.5x the time; the model is generated once
# under /tmp/recopub-bench).
bench: build redis-server
	$(GO) test -run XXX -bench . -benchtime 3x ./features/ ./model/
	$(GO) test -run XXX -bench . -skip 'VersusRedisCLI|WriterTuning' -benchtime 3x ./publish/
	GO=$(GO) testdata/bench/versus-redis-cli.sh
	GO=$(GO) testdata/bench/publish-vs-restore.sh
	bash testdata/peers/run.sh   # recopub's model stage vs a scipy peer (Debian python3-scipy)
	$(GO) test -run XXX -bench 'BenchmarkServe$$' -benchtime 1x ./cmd/recopub/   # recopub serve under wrk (Debian wrk)

# The job as one process and as SHARDS shards (one after another, and
# at once) on one export against a private redis-server: wall, peak RSS
# and load average of each process (docs/operations.md "Sharded runs").
DATA ?= /work/bench/s10m
SHARDS ?= 2
bench-shards: build
	testdata/bench/shards.sh $(DATA) $(SHARDS)

fuzz:
	$(GO) test ./publish -run XXX -fuzz FuzzDumpRoundTrip -fuzztime 60s

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./... ./testdata/interop/...

# Test dependencies from Debian: redis-server (integration tests) and
# chromium (the report is checked as a person would see it). CI installs
# what is missing; elsewhere we stop with a hint rather than install behind
# your back.
TEST_DEPS := redis-server:redis-server chromium:chromium

redis-server:
	@missing=""; for dep in $(TEST_DEPS); do \
		cmd=$${dep%%:*}; pkg=$${dep##*:}; \
		command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ -n "$$CI" ]; then \
			echo "installing$$missing (CI)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) || exit 1; \
		else \
			echo "missing test dependencies:$$missing; install them (Debian/Ubuntu: sudo apt-get install -y$$missing) and rerun"; exit 1; \
		fi; \
	fi

# The notebooks, executed headless against the sample data (CI runs this
# too, so they never rot). Outputs go to notebooks/out/ (not committed).
JUPYTER_DEPS := jupyter-nbconvert python3-ipykernel python3-pandas python3-matplotlib python3-redis
notebooks: build $(SAMPLE)/events notebook-deps redis-server
	mkdir -p notebooks/out
	RECOPUB=$(CURDIR)/$(BIN) SAMPLE=$(CURDIR)/$(SAMPLE) NOTEBOOK_WORK=$(CURDIR)/notebooks/out PYDEVD_DISABLE_FILE_VALIDATION=1 \
		jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
		--output-dir notebooks/out/executed notebooks/*.ipynb

notebook-deps:
	@if ! command -v jupyter-nbconvert >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import ipykernel, pandas, matplotlib, redis' 2>/dev/null; then \
		if [ -n "$$CI" ]; then \
			echo "installing $(JUPYTER_DEPS) (CI)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(JUPYTER_DEPS) >/dev/null) || exit 1; \
		else \
			echo "notebooks need Debian's $(JUPYTER_DEPS): sudo apt-get install -y $(JUPYTER_DEPS)"; exit 1; \
		fi; \
	fi

# The container image (Dockerfile: static binary, distroless, non-root).
# docs/deploy/cronjob.yaml runs $(IMAGE): set IMAGE to your registry's
# name for it, then docker push $(IMAGE).
IMAGE ?= registry.example.com/recopub:latest
image:
	docker build --build-arg VCS_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t $(IMAGE) .

clean:
	rm -rf bin $(SAMPLE) notebooks/out
