-- LuaRocks package of moonforge, built by the repository's Makefile.
--
--   luarocks --lua-version 5.4 make --tree DIR moonforge-scm-1.rockspec
--
-- run from a checkout. Lua modules go to LUADIR/moonforge/, the C module to
-- LIBDIR/moonforge/core.so, the `moonforge` executable to BINDIR, its
-- subcommand scripts to LUADIR/moonforge/scripts/. The C library (headers,
-- libmoonforge.a/.so, moonforge.pc) stays inside the rock's own directory,
-- under libmoonforge/ (see PREFIX below): for C programs, point
-- PKG_CONFIG_PATH at "$(luarocks show --rock-dir moonforge)/libmoonforge/lib/pkgconfig".
rockspec_format = "3.0"
package = "moonforge"
version = "scm-1"

source = {
   -- Placeholder: `luarocks make` builds the checkout it is run from and
   -- never fetches this.
   url = "git+file://.",
}

description = {
   summary = "Machine learning for industrial data: Lua 5.4 over a C11 core",
   detailed = [[
moonforge is a machine-learning toolkit: tensors, neural networks, classic
models and data tables in a C11 library (libmoonforge, over OpenBLAS and
LAPACKE), a Lua 5.4 API, and a `moonforge` command-line tool.
]],
   license = "MIT",
   labels = { "machine-learning", "tensor", "blas" },
}

dependencies = {
   "lua >= 5.4, < 5.5",
}

-- Debian keeps cblas.h in the multiarch include directory
-- (/usr/include/x86_64-linux-gnu), which LuaRocks does not search, so
-- OpenBLAS is checked by its library only; the Makefile finds its headers
-- through pkg-config. lapacke.h is in /usr/include.
external_dependencies = {
   OPENBLAS = { library = "openblas" },
   LAPACKE = { header = "lapacke.h", library = "lapacke" },
}

build = {
   type = "make",
   -- Given to both `make` and `make install` (the install target depends on
   -- `all`, so both passes must agree on where the objects are and how they
   -- are built).
   variables = {
      -- A build directory of its own: a rock build in a developer's checkout
      -- neither reuses objects of build/ made with other flags nor
      -- overwrites them.
      BUILD = "build-rock",
      -- LuaRocks' CFLAGS ("-O2 -fPIC" unless configured) replace the
      -- Makefile's -O2. The include directories LuaRocks resolved come
      -- before the Makefile's pkg-config ones, so OPENBLAS_DIR=... and
      -- LAPACKE_DIR=... on the luarocks command line take effect (gcc drops
      -- -I of a system directory such as /usr/include).
      OPT = "$(CFLAGS) -I$(OPENBLAS_INCDIR) -I$(LAPACKE_INCDIR)",
      LUA = "$(LUA)",
      LUA_CFLAGS = "-I$(LUA_INCDIR)",
      BLAS_LIBS = "-L$(OPENBLAS_LIBDIR) -L$(LAPACKE_LIBDIR) -lopenblas -llapacke",
      -- The C library, headers, moonforge.pc and share/moonforge/ go here:
      -- inside the rock directory but outside its lua/, lib/ and bin/, so
      -- LuaRocks keeps them there and deploys nothing of them into the tree.
      PREFIX = "$(PREFIX)/libmoonforge",
      INST_LUADIR = "$(LUADIR)",
      INST_LIBDIR = "$(LIBDIR)",
      INST_BINDIR = "$(BINDIR)",
   },
}
