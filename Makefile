# The front door: make, make test, make test-asan, make fuzz, make bench, ...
# One build directory per variant.
CC ?= cc
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PYTHON ?= python3
# integration test modules run at once (empty: one per CPU)
IT_JOBS ?=

.PHONY: all build build-asan test test-unit test-integration test-tls test-h2c test-transports test-asan test-fuzz-replay fuzz fuzz-run \
        bench docs docs-check format format-check install clean

all: build

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=Debug \
	  -DNXX_SANITIZE=ON -DNXX_COUNT_ALLOCS=ON >/dev/null

build-asan: $(ASAN_BUILD)/Makefile
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# make test: unit tests, fuzz corpus replay, docs drift, integration tests,
# then the same under ASan+UBSan.
test: build
	$(MAKE) --no-print-directory test-unit test-fuzz-replay docs-check test-integration BUILD=$(BUILD)
	$(MAKE) --no-print-directory test-asan

test-unit:
	tools/run-unit $(BUILD)
	tools/check-symbols $(BUILD)

test-fuzz-replay:
	tools/fuzz-replay $(BUILD)

test-integration:
	NXX_BIN=$(abspath $(BUILD))/nxx NXX_HELLO=$(abspath $(BUILD))/hello \
	NXX_LOCATIONS=$(abspath $(BUILD))/locations \
	  $(PYTHON) tests/integration/run.py $(if $(IT_JOBS),-j $(IT_JOBS))

# The integration suite again over TLS: every nxx serve the harness starts
# gets a certificate, and the tests' connections and curl use TLS.
test-tls: build
	NXX_TRANSPORT=tls NXX_BIN=$(abspath $(BUILD))/nxx NXX_HELLO=$(abspath $(BUILD))/hello \
	NXX_LOCATIONS=$(abspath $(BUILD))/locations \
	  $(PYTHON) tests/integration/run.py $(if $(IT_JOBS),-j $(IT_JOBS)) $(IT_FILTER)

# The integration suite again over HTTP/2 with prior knowledge: every nxx
# serve the harness starts also speaks h2c, and each whole request a test
# sends goes over HTTP/2 where HTTP/2 can carry it.
test-h2c: build
	NXX_TRANSPORT=h2c NXX_BIN=$(abspath $(BUILD))/nxx NXX_HELLO=$(abspath $(BUILD))/hello \
	NXX_LOCATIONS=$(abspath $(BUILD))/locations \
	  $(PYTHON) tests/integration/run.py $(if $(IT_JOBS),-j $(IT_JOBS)) $(IT_FILTER)

# Both extra transports on the release build, one after the other (each run
# already spreads its modules over the CPUs; side by side, the modules that
# measure time or memory would share them).
test-transports: build
	$(MAKE) --no-print-directory test-tls BUILD=$(BUILD)
	$(MAKE) --no-print-directory test-h2c BUILD=$(BUILD)

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory test-unit test-fuzz-replay BUILD=$(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	NXX_SANITIZED=1 NXX_BIN=$(abspath $(ASAN_BUILD))/nxx NXX_HELLO=$(abspath $(ASAN_BUILD))/hello \
	NXX_LOCATIONS=$(abspath $(ASAN_BUILD))/locations \
	  $(PYTHON) tests/integration/run.py $(if $(IT_JOBS),-j $(IT_JOBS))

$(FUZZ_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DNXX_SANITIZE=ON -DNXX_FUZZ=ON >/dev/null

fuzz: $(FUZZ_BUILD)/Makefile
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Run each libFuzzer target for FUZZ_SECONDS over its corpus.
fuzz-run: fuzz
	tools/fuzz-run $(FUZZ_BUILD) $(FUZZ_SECONDS)

# make bench: files against nginx, h2o and lighttpd (bench/run), HTTP/2 over h2c
# against h2o and nginx (bench/h2), the REST store against json-server from npm
# (bench/rest; installed on first use), and the WebSocket echo against npm ws
# with a channel fan-out (bench/ws).
bench: build
	bench/run $(BUILD)/nxx
	BENCH_OUT=$(BUILD)/bench-h2.md bench/h2 $(BUILD)/nxx
	test -d bench/json-server/node_modules || (cd bench/json-server && npm ci --no-audit --no-fund)
	BENCH_REST_OUT=$(BUILD)/bench-rest.md bench/rest $(BUILD)/nxx
	BENCH_WS_OUT=$(BUILD)/bench-ws.md bench/ws $(BUILD)/nxx
	bench/policies $(BUILD)/nxx
	bench/proxy $(BUILD)/nxx
	bench/tls $(BUILD)/nxx
	bench/dav $(BUILD)/nxx

# Generated documentation: the status table comes from the registry, the
# configuration reference, the man page and the file's JSON Schema from the
# key table (src/config).
docs: build
	$(BUILD)/nxx explain --all --markdown > docs/status-codes.md
	$(BUILD)/nxx help --markdown > docs/config.md
	$(BUILD)/nxx help --man > man/nxx.1
	$(BUILD)/nxx help --schema > docs/nxx.schema.json

docs-check:
	tools/docs-check $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

PREFIX ?= /usr/local
# systemd looks for units in /usr/local/lib/systemd/system too; the unit runs
# `nxx check` before it starts, serves /etc/nxx/nxx.yaml, reloads on SIGHUP.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
install: build
	install -D -m 0755 $(BUILD)/nxx $(DESTDIR)$(PREFIX)/bin/nxx
	install -D -m 0644 $(BUILD)/libnxx.a $(DESTDIR)$(PREFIX)/lib/libnxx.a
	install -D -m 0644 include/nxx.h $(DESTDIR)$(PREFIX)/include/nxx.h
	install -D -m 0644 $(BUILD)/nxx.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/nxx.pc
	install -D -m 0644 man/nxx.1 $(DESTDIR)$(PREFIX)/share/man/man1/nxx.1
	install -D -m 0644 docs/nxx.schema.json $(DESTDIR)$(PREFIX)/share/nxx/nxx.schema.json
	install -D -m 0644 dist/nxx.yaml $(DESTDIR)$(PREFIX)/share/nxx/nxx.yaml
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' dist/nxx.service.in > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/nxx.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/nxx.service

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
