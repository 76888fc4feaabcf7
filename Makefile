# moonforge — build, test, install.
#
#   make            libmoonforge (static + shared), the Lua module, the executable
#   make demo       install missing packages, build, run the example pipeline
#   make test       every test (C, LuaUnit, doc blocks); ends with "N passed, N failed"
#   make sanitize   the same suite built with ASan + UBSan
#   make bench      the workloads of ../shared/bench/WORKLOADS.md (JSON lines)
#   make install    PREFIX=/usr/local DESTDIR=
#
# core/ is compiled without any Lua include path: no Lua can creep into it.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
SAN     ?=
# CI sets WERROR=1 (its .ci/run does).
WERROR  ?= $(if $(CI),1,)

VERSION := $(shell sed -n 's/^\#define MF_VERSION_STRING "\(.*\)"/\1/p' core/mf_common.h)

PKG_LUA    := lua5.4
LUA        ?= lua5.4
BLAS_CFLAGS = $(shell pkg-config --cflags openblas lapacke 2>/dev/null)
BLAS_LIBS   = $(shell pkg-config --libs openblas lapacke 2>/dev/null || echo -lopenblas -llapacke)
LUA_CFLAGS  = $(shell pkg-config --cflags $(PKG_LUA) 2>/dev/null)
LUA_LIBS    = $(shell pkg-config --libs $(PKG_LUA) 2>/dev/null || echo -llua5.4)

WARN   = -Wall -Wextra -Wshadow -Wconversion -Wmissing-prototypes \
         -Wstrict-prototypes -Wpointer-arith -Wvla $(if $(WERROR),-Werror,)
BASE_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) -g -fPIC $(WARN) $(SAN)
CORE_CFLAGS = $(BASE_CFLAGS) -Icore $(BLAS_CFLAGS)
BIND_CFLAGS = $(BASE_CFLAGS) -Icore -Ilua/binding $(LUA_CFLAGS)
LDLIBS_CORE = $(BLAS_LIBS) -lpthread -lm

CORE_SRC  := $(sort $(wildcard core/*.c))
CORE_HDR  := $(sort $(wildcard core/*.h))
BIND_SRC  := $(sort $(wildcard lua/binding/*.c))
BIND_HDR  := $(sort $(wildcard lua/binding/*.h))
LUA_MODS  := $(sort $(wildcard lua/moonforge/*.lua))
CTEST_SRC := $(sort $(wildcard tests/core/*.c))
SCRIPTS   := $(sort $(wildcard scripts/*.lua))

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
BIND_OBJ  := $(BIND_SRC:%.c=$(BUILD)/obj/%.o)
CTEST_OBJ := $(CTEST_SRC:%.c=$(BUILD)/obj/%.o)

LIB_A    := $(BUILD)/libmoonforge.a
LIB_SO   := $(BUILD)/libmoonforge.so
LUA_SO   := $(BUILD)/lua/moonforge/core.so
EXE      := $(BUILD)/moonforge
CTEST    := $(BUILD)/test_core
PRELOAD  := $(BUILD)/gen/preload.c

.PHONY: all deps demo test test-run sanitize bench bench-quick install \
        install-check symbols-check clean
all: $(LIB_A) $(LIB_SO) $(LUA_SO) $(EXE)

# ---------------------------------------------------------------- packages
DEB_PKGS = make gcc lua5.4 liblua5.4-dev libopenblas-dev liblapacke-dev \
           lua-unit luarocks pkg-config
deps:
	@sh .ci/deps.sh $(DEB_PKGS)

# ---------------------------------------------------------------- objects
$(BUILD)/obj/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(BUILD)/obj/lua/%.o: lua/%.c $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(BIND_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/core/%.o: tests/core/%.c $(CORE_HDR) tests/core/ctest.h
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -Itests/core -c $< -o $@

$(LIB_A): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(CORE_OBJ)
	$(CC) -shared $(SAN) -Wl,-soname,libmoonforge.so.0 -o $@ $^ $(LDLIBS_CORE)

$(LUA_SO): $(BIND_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) -shared $(SAN) -o $@ $(BIND_OBJ) $(LIB_A) $(LDLIBS_CORE)

# The executable embeds every Lua module (package.preload) and the binding.
$(PRELOAD): lua/cli/embed.lua $(LUA_MODS)
	@mkdir -p $(@D)
	$(LUA) lua/cli/embed.lua lua $(LUA_MODS) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/preload.o: $(PRELOAD)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -c $< -o $@

$(EXE): $(BUILD)/obj/lua/cli/main.o $(BUILD)/obj/gen/preload.o $(BIND_OBJ) $(LIB_A)
	$(CC) $(SAN) -rdynamic -o $@ $^ $(LUA_LIBS) $(LDLIBS_CORE) -ldl

$(CTEST): $(CTEST_OBJ) $(LIB_A)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS_CORE)

# ---------------------------------------------------------------- running
demo: deps
	@$(MAKE) --no-print-directory all
	$(EXE) examples/defect_mlp.lua

test: deps
	@$(MAKE) --no-print-directory test-run

test-run: all $(CTEST)
	@$(EXE) tests/run.lua --build $(BUILD)

# Whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 SAN="$(SAN_FLAGS)" all build-asan/test_core
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp:print_suppressions=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 build-asan/moonforge tests/run.lua --build build-asan --sanitize

bench: all
	@sh bench/run.sh full

bench-quick: all
	@sh bench/run.sh quick

# ---------------------------------------------------------------- install
INC_DIR  = $(DESTDIR)$(PREFIX)/include/moonforge
LIB_DIR  = $(DESTDIR)$(PREFIX)/lib
BIN_DIR  = $(DESTDIR)$(PREFIX)/bin
LMOD_DIR = $(DESTDIR)$(PREFIX)/share/lua/5.4
CMOD_DIR = $(DESTDIR)$(PREFIX)/lib/lua/5.4
SHARE    = $(DESTDIR)$(PREFIX)/share/moonforge
# LuaRocks passes its own directories (see moonforge-scm-1.rockspec).
INST_LUADIR ?= $(LMOD_DIR)
INST_LIBDIR ?= $(CMOD_DIR)
INST_BINDIR ?= $(BIN_DIR)

install: all
	install -d $(INC_DIR) $(LIB_DIR)/pkgconfig $(INST_BINDIR) \
	    $(INST_LUADIR)/moonforge/scripts $(INST_LIBDIR)/moonforge $(SHARE)/scripts
	install -m 644 $(CORE_HDR) $(INC_DIR)/
	install -m 644 $(LIB_A) $(LIB_DIR)/
	install -m 755 $(LIB_SO) $(LIB_DIR)/libmoonforge.so.$(VERSION)
	ln -sf libmoonforge.so.$(VERSION) $(LIB_DIR)/libmoonforge.so.0
	ln -sf libmoonforge.so.0 $(LIB_DIR)/libmoonforge.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS@|$(LDLIBS_CORE)|' moonforge.pc.in > $(LIB_DIR)/pkgconfig/moonforge.pc
	install -m 644 $(LUA_MODS) $(INST_LUADIR)/moonforge/
	$(if $(SCRIPTS),install -m 644 $(SCRIPTS) $(INST_LUADIR)/moonforge/scripts/)
	$(if $(SCRIPTS),install -m 644 $(SCRIPTS) $(SHARE)/scripts/)
	install -m 755 $(LUA_SO) $(INST_LIBDIR)/moonforge/core.so
	install -m 755 $(EXE) $(INST_BINDIR)/moonforge

# Installs into temporary directories with make and with LuaRocks, then uses
# each install the way a user would.
install-check: all
	@sh .ci/install-check.sh

# libmoonforge must never end the process or print.
symbols-check: $(LIB_A) $(LIB_SO)
	@sh .ci/symbols-check.sh $(LIB_A) $(LIB_SO)

clean:
	rm -rf build build-asan build-rock
