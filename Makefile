# Two commands set everything up on a fresh machine:
#   make sandbox   two in-process instances over an embedded Redis, in a terminal UI
#   make test      installs/starts Redis and PostgreSQL if needed, lints, runs every test and scenario

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEV_SECRET  := dev-secret-not-for-production

.PHONY: all build server sandbox test unit scenarios lint bench fuzz clean

all: build

build:
	$(GO) build -o bin/server ./cmd/server
	$(GO) build -o bin/sandbox ./cmd/sandbox

## server: the standalone server on the embedded SQLite default, development mode.
server: build
	APP_ENV=development JWT_SECRET=$${JWT_SECRET:-$(DEV_SECRET)} ADMIN_BOOTSTRAP=$${ADMIN_BOOTSTRAP:-admin:adminpass} ./bin/server

## sandbox: the main job.
sandbox:
	$(GO) run ./cmd/sandbox $(ARGS)

## test: everything CI runs.
test: lint unit scenarios

unit:
	@services=$$(bash .ci/services.sh) && eval "$$services" && \
	  DMCHAT_REQUIRE_SERVICES=1 $(GO) test -race -count=1 -timeout 20m ./...
	@# Allocation counts mean nothing under -race (sync.Pool drops items): once more without it.
	$(GO) test -count=1 -run 'Allocat' ./core/...

## scenarios: every scenario on the memory store, then again on a fresh SQLite file each
## (store bugs are invisible on memory; the sandbox also asserts synchronous=FULL at start).
scenarios:
	$(GO) run ./cmd/sandbox run -q scenarios/*.scn
	$(GO) run ./cmd/sandbox run -q --db sqlite scenarios/*.scn

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@for os in linux darwin windows; do echo "GOOS=$$os go build ./cmd/..."; GOOS=$$os $(GO) build -o /dev/null ./cmd/... || exit 1; done

## bench: Go benchmarks once each, then every workload, short (cross over a real redis-server,
## the cycle's instruction count under valgrind; both installed if missing).
bench:
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q valgrind >&2; } || echo "bench: no valgrind: the cycle workload will not count instructions" >&2
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./core/...
	@services=$$(bash .ci/services.sh redis) && eval "$$services" && \
	  $(GO) run ./cmd/sandbox bench --short

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeFrame -fuzztime 30s ./core/chat

clean:
	rm -rf bin
